"""A TiDB dialect for peewee 3.17 and 4.x (PyMySQL or mysqlclient). Importing it registers the
tidb:// and tidb+pool:// database URLs with playhouse.db_url."""

from typing import Any

from .as_of import AsOfTimestamp, stale_read, stale_select
from .bulk import FastBulkCreate, TiDBModel
from .database import ReconnectingTiDBDatabase, TiDBDatabase
from .errors import (
    RETRYABLE_ERRORS,
    AmbiguousCommitError,
    ConfigError,
    ExceededMaxAttempts,
    SettingError,
)
from .fields import BigAutoRandomField
from .keywords import CONNECT_TIMEOUT, whole_number
from .pool import PooledTiDBDatabase
from .schema import auto_id_cache
from .settings import database_from_env
from .transactions import retry_transaction, run_transaction
from .urls import connect_url, parse_url
from .version import ServerVersion, parse_version

__all__ = [
    "CONNECT_TIMEOUT",
    "RETRYABLE_ERRORS",
    "AmbiguousCommitError",
    "AsOfTimestamp",
    "BigAutoRandomField",
    "ConfigError",
    "ExceededMaxAttempts",
    "FastBulkCreate",
    "PooledTiDBDatabase",
    "ReconnectingTiDBDatabase",
    "ServerVersion",
    "SettingError",
    "TiDBDatabase",
    "TiDBModel",
    "auto_id_cache",
    "connect_url",
    "database_from_env",
    "parse_url",
    "parse_version",
    "retry_transaction",
    "run_transaction",
    "stale_read",
    "stale_select",
    "whole_number",
]

#: Imported on first use, so that the rest needs no peewee 4, aiomysql or greenlet; not in import *.
ASYNC_NAMES = ("AsyncTiDBDatabase", "arun_transaction")


def __getattr__(name: str) -> Any:
    if name in ASYNC_NAMES:
        from . import aio  # ConfigError when peewee 4, aiomysql or greenlet is missing

        return getattr(aio, name)
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
