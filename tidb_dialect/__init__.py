"""A TiDB dialect for peewee 3.17 and 4.x."""
from .database import TiDBDatabase
from .errors import ConfigError, ExceededMaxAttempts
from .settings import Settings, load_settings
from .transactions import RETRYABLE_ERRORS, locking_read, run_transaction
from .version import ServerVersion, parse_version

__all__ = [
    "ConfigError", "ExceededMaxAttempts", "RETRYABLE_ERRORS", "ServerVersion", "Settings",
    "TiDBDatabase", "load_settings", "locking_read", "parse_version", "run_transaction",
]
