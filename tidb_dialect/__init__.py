"""A TiDB dialect for peewee 3.17 and 4.x: needs peewee and a driver (PyMySQL or mysqlclient).

Importing it registers the tidb:// and tidb+pool:// database URLs with playhouse.db_url.
"""

from .connection import CONNECT_TIMEOUT
from .database import TiDBDatabase
from .errors import ConfigError, ExceededMaxAttempts
from .fields import BigAutoRandomField
from .pool import PooledTiDBDatabase, ReconnectingTiDBDatabase
from .schema import TiDBModel, TiDBSchemaManager
from .stale_read import AsOfTimestamp, stale_read, stale_select
from .transactions import RETRYABLE_ERRORS, locking_read, run_transaction
from .urls import connect_url, parse_url
from .version import ServerVersion, parse_version

__all__ = [
    "CONNECT_TIMEOUT",
    "RETRYABLE_ERRORS",
    "AsOfTimestamp",
    "BigAutoRandomField",
    "ConfigError",
    "ExceededMaxAttempts",
    "PooledTiDBDatabase",
    "ReconnectingTiDBDatabase",
    "ServerVersion",
    "TiDBDatabase",
    "TiDBModel",
    "TiDBSchemaManager",
    "connect_url",
    "locking_read",
    "parse_url",
    "parse_version",
    "run_transaction",
    "stale_read",
    "stale_select",
]
