"""A TiDB dialect for peewee 3.17 and 4.x.

Importing it registers the tidb:// and tidb+pool:// database URLs.
"""

from . import urls  # noqa: F401  (registers the URL schemes)
from .bulk import FastBulkCreate
from .database import TiDBDatabase
from .errors import ConfigError, ExceededMaxAttempts
from .fields import BigAutoRandomField
from .pool import PooledTiDBDatabase, ReconnectingTiDBDatabase
from .schema import TiDBModel, TiDBSchemaManager
from .settings import Settings, load_settings
from .stale_read import AsOfTimestamp, stale_read, stale_select
from .transactions import RETRYABLE_ERRORS, locking_read, run_transaction
from .version import ServerVersion, parse_version

__all__ = [
    "RETRYABLE_ERRORS",
    "AsOfTimestamp",
    "BigAutoRandomField",
    "ConfigError",
    "ExceededMaxAttempts",
    "FastBulkCreate",
    "PooledTiDBDatabase",
    "ReconnectingTiDBDatabase",
    "ServerVersion",
    "Settings",
    "TiDBDatabase",
    "TiDBModel",
    "TiDBSchemaManager",
    "load_settings",
    "locking_read",
    "parse_version",
    "run_transaction",
    "stale_read",
    "stale_select",
]
