"""TiDBDatabase: MySQLDatabase that knows which TiDB release it talks to."""

import warnings

from peewee import ForeignKeyField, MySQLDatabase

from .connection import driver_keywords, load_driver, open_connection
from .errors import ConfigError
from .transactions import DEFAULT_MAX_ATTEMPTS, exponential_backoff, run_transaction
from .version import parse_version

SAVEPOINT_MIN_VERSION = (6, 2, 0)
FOREIGN_KEY_MIN_VERSION = (6, 6, 0)
AUTO_RANDOM_RANGE_MIN_VERSION = (6, 3, 0)

#: Keywords for peewee's MySQLDatabase itself, not for the connection.
PEEWEE_KEYWORDS = ("mariadb",)


class TiDBDatabase(MySQLDatabase):
    """A TiDB (or any MySQL-compatible) database, over PyMySQL or mysqlclient.

    The connection keywords are checked when the database is made (see
    connection.py): TLS verified whenever it is on, localhost as TCP, a
    bounded wait for the server, unknown keywords refused.
    """

    driver = "pymysql"
    version = None

    def init(self, database, driver=None, **kwargs):
        if driver is not None:
            self.driver = driver
        self.driver_module = load_driver(self.driver)
        options = {name: kwargs.pop(name) for name in PEEWEE_KEYWORDS if name in kwargs}
        super().init(database, **options, **driver_keywords(self.driver, kwargs))

    def _connect(self):
        return open_connection(self.driver_module, self.database, self.connect_params)

    def _set_server_version(self, conn):
        # The handshake's version can be rewritten by proxies; VERSION() cannot.
        cursor = conn.cursor()
        try:
            cursor.execute("SELECT VERSION()")
            self.version = parse_version(cursor.fetchone()[0])
        finally:
            cursor.close()
        self.server_version = self.version.mysql

    def get_context_options(self):
        # Lets DDL ask for the server (connecting first) only when it depends on it.
        return dict(super().get_context_options(), tidb_server=self.server)

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
                % self.server()
            )
        return super().savepoint()

    def create_tables(self, models, **options):
        for model in models:
            if getattr(model._meta, "auto_id_cache", None) is not None and not hasattr(
                model._schema, "table_options"
            ):
                raise ConfigError(
                    "%s: Meta.auto_id_cache needs TiDBModel as the base class "
                    "(or Meta.schema_manager_class = TiDBSchemaManager)" % model.__name__
                )
            if not self.supports_foreign_keys:
                warn_unenforced_foreign_keys(model, self.server())
        super().create_tables(models, **options)

    def run_transaction(
        self, callback, max_attempts=DEFAULT_MAX_ATTEMPTS, backoff=exponential_backoff
    ):
        return run_transaction(self, callback, max_attempts, backoff)


def context_server(ctx):
    """The ServerVersion behind a SQL context, or None if its database is not a TiDBDatabase."""
    server = ctx.state.tidb_server
    return server() if server else None


def warn_unenforced_foreign_keys(model, version):
    names = [
        field.name for field in model._meta.sorted_fields if isinstance(field, ForeignKeyField)
    ]
    if names:
        warnings.warn(
            "%s: %s parses but does not enforce FOREIGN KEY constraints (enforced "
            "from TiDB v6.6.0), so %s may point at missing rows"
            % (model.__name__, version, ", ".join(names)),
            stacklevel=3,
        )
