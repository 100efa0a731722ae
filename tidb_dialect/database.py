"""TiDBDatabase: MySQLDatabase that knows which TiDB release it talks to."""
import importlib

from peewee import MySQLDatabase

from .errors import ConfigError
from .transactions import DEFAULT_MAX_ATTEMPTS, exponential_backoff, run_transaction
from .version import parse_version

SAVEPOINT_MIN_VERSION = (6, 2, 0)
FOREIGN_KEY_MIN_VERSION = (6, 6, 0)
AUTO_RANDOM_RANGE_MIN_VERSION = (6, 3, 0)

#: Driver name (TIDB_DRIVER) -> module it imports.
DRIVERS = {"pymysql": "pymysql", "mysqlclient": "MySQLdb"}


class TiDBDatabase(MySQLDatabase):
    """A TiDB (or any MySQL-compatible) database, over PyMySQL or mysqlclient."""

    driver = "pymysql"
    version = None

    def init(self, database, driver=None, **kwargs):
        if driver is not None:
            if driver not in DRIVERS:
                raise ConfigError("TIDB_DRIVER: unknown driver %r (use pymysql or mysqlclient)"
                                  % driver)
            self.driver = driver
        kwargs.setdefault("charset", "utf8mb4")  # peewee 3.17 defaults to 3-byte utf8
        super().init(database, **kwargs)

    def _connect(self):
        try:
            module = importlib.import_module(DRIVERS[self.driver])
        except ImportError:
            raise ConfigError("TIDB_DRIVER=%s, but its module %s is not installed "
                              "(pip install -r requirements-mysqlclient.txt)"
                              % (self.driver, DRIVERS[self.driver])) from None
        return module.connect(database=self.database, autocommit=True, **self.connect_params)

    def _set_server_version(self, conn):
        # The handshake's version can be rewritten by proxies; VERSION() cannot.
        cursor = conn.cursor()
        try:
            cursor.execute("SELECT VERSION()")
            self.version = parse_version(cursor.fetchone()[0])
        finally:
            cursor.close()
        self.server_version = self.version.mysql

    def server(self):
        """The server's ServerVersion, connecting first if no connection was made yet."""
        if self.version is None:
            self.connect(reuse_if_open=True)
        return self.version

    @property
    def is_tidb(self):
        return self.server().is_tidb

    @property
    def tidb_version(self):
        return self.server().tidb

    @property
    def supports_savepoints(self):
        return not self.is_tidb or self.server().at_least(*SAVEPOINT_MIN_VERSION)

    @property
    def supports_foreign_keys(self):
        return not self.is_tidb or self.server().at_least(*FOREIGN_KEY_MIN_VERSION)

    @property
    def supports_auto_random_range(self):
        return self.server().at_least(*AUTO_RANDOM_RANGE_MIN_VERSION)

    def savepoint(self):
        if not self.supports_savepoints:
            raise NotImplementedError(
                "%s has no SAVEPOINT (added in TiDB v6.2.0), so atomic() blocks cannot "
                "nest; use transaction(), which flattens nested blocks into the outer one"
                % self.server())
        return super().savepoint()

    def run_transaction(self, callback, max_attempts=DEFAULT_MAX_ATTEMPTS,
                        backoff=exponential_backoff):
        return run_transaction(self, callback, max_attempts, backoff)
