"""TiDBDatabase: MySQLDatabase that knows which TiDB release it talks to."""

import importlib
import warnings

from peewee import SQL, ForeignKeyField, MySQLDatabase, NodeList

from .errors import ConfigError
from .stale_read import StaleReadContext
from .tls import check_ca_file, default_ca_bundle, tls_params, tls_required
from .transactions import DEFAULT_MAX_ATTEMPTS, exponential_backoff, run_transaction
from .version import DETECT_SQL, ServerVersion, parse_version

#: Driver name (TIDB_DRIVER) -> module it imports.
DRIVERS = {"pymysql": "pymysql", "mysqlclient": "MySQLdb"}

#: Connection keywords that mean the caller configured TLS already, for either driver.
TLS_KEYWORDS = ("ssl", "ssl_ca", "ssl_mode", "ssl_disabled")


class TiDBDatabase(MySQLDatabase):
    """A TiDB (or any MySQL-compatible) database, over PyMySQL or mysqlclient."""

    driver = "pymysql"
    version = None  # the ServerVersion, once detected
    context_class = StaleReadContext

    def init(self, database, driver=None, **kwargs):
        if driver is not None:
            if driver not in DRIVERS:
                raise ConfigError(
                    "TIDB_DRIVER: unknown driver %r (use pymysql or mysqlclient)" % driver
                )
            self.driver = driver
        kwargs.setdefault("charset", "utf8mb4")  # peewee 3.17 defaults to 3-byte utf8
        super().init(database, **self._with_tls(kwargs))

    def _with_tls(self, kwargs):
        """`ssl_ca=` works with either driver; TiDB Cloud hosts get TLS unasked."""
        if "ssl_ca" in kwargs:
            ca_path = kwargs.pop("ssl_ca")
            if not ca_path:
                raise ConfigError("ssl_ca: must name a CA file, got an empty value")
            check_ca_file(ca_path, "ssl_ca")
        elif tls_required(kwargs.get("host") or "") and not any(k in kwargs for k in TLS_KEYWORDS):
            ca_path = default_ca_bundle()
        else:
            return kwargs
        return dict(kwargs, **tls_params(self.driver, ca_path))

    def _connect(self):
        try:
            module = importlib.import_module(DRIVERS[self.driver])
        except ImportError:
            raise ConfigError(
                "TIDB_DRIVER=%s, but its module %s is not installed "
                "(pip install -r requirements-mysqlclient.txt)"
                % (self.driver, DRIVERS[self.driver])
            ) from None
        return module.connect(database=self.database, autocommit=True, **self.connect_params)

    def _set_server_version(self, conn):
        super()._set_server_version(conn)  # peewee's own capabilities, as MySQLDatabase has them
        self.version = detect(conn, self.connect_params)

    def detect_server_version(self):
        """The server's ServerVersion; connects first if this database never has."""
        if self.version is None:
            self.connect(reuse_if_open=True)
        return self.version

    @property
    def is_tidb(self):
        return self.detect_server_version().is_tidb

    def get_context_options(self):
        # DDL and stale reads detect the server (connecting first) only when they depend on it.
        return dict(
            super().get_context_options(), tidb_detect_server_version=self.detect_server_version
        )

    def begin(self, *args, as_of=None, **kwargs):
        """``transaction(as_of=AsOfTimestamp(...))`` starts a read-only stale-read transaction."""
        if as_of is None:
            return super().begin(*args, **kwargs)
        ctx = self.get_sql_context().literal("START TRANSACTION READ ONLY ").sql(as_of)
        self.execute_sql(*ctx.query())

    def savepoint(self):
        version = self.detect_server_version()
        if not version.supports_savepoints:
            raise NotImplementedError(
                "%s has no SAVEPOINT (added in TiDB v6.2.0), so atomic() blocks cannot "
                "nest; use transaction(), which flattens nested blocks into the outer one" % version
            )
        return super().savepoint()

    def create_tables(self, models, **options):
        version = self.detect_server_version()
        for model in models:
            if not version.enforces_foreign_keys:
                warn_unenforced(model, version, "FOREIGN KEY", "v6.6.0", foreign_key_fields(model))
            checks = check_constrained(model) if version.is_tidb else []
            if checks and not self.enforces_check_constraints():
                enforced_from = "v7.2.0 with tidb_enable_check_constraint=ON"
                warn_unenforced(model, version, "CHECK", enforced_from, checks)
        super().create_tables(models, **options)

    def enforces_check_constraints(self):
        """Whether CHECK constraints in new tables are kept; on TiDB v7.2+ this asks the server."""
        version = self.detect_server_version()
        if not version.supports_check_constraints:
            return False
        if not version.is_tidb:
            return True
        cursor = self.execute_sql("SELECT @@GLOBAL.tidb_enable_check_constraint")
        return str(cursor.fetchone()[0]).upper() in ("1", "ON")

    def run_transaction(
        self, callback, max_attempts=DEFAULT_MAX_ATTEMPTS, backoff=exponential_backoff
    ):
        return run_transaction(self, callback, max_attempts, backoff)


def detect(conn, connect_params):
    """The ServerVersion of the server behind `conn`: asked once per process and address.

    A server that changes its handshake version (an upgrade) is asked again.
    """
    key = tuple(connect_params.get(k) for k in ("host", "port", "unix_socket"))
    key += (conn.get_server_info(),)
    version = _DETECTED.get(key)
    if version is None:
        cursor = conn.cursor()
        try:
            cursor.execute(DETECT_SQL)
            version = _DETECTED[key] = parse_version(*cursor.fetchone())
        finally:
            cursor.close()
    return version


_DETECTED: dict[tuple, ServerVersion] = {}


def forget_detected_servers():
    """Ask every server again on its next new connection (for tests that swap servers)."""
    _DETECTED.clear()


def foreign_key_fields(model):
    return [field.name for field in model._meta.sorted_fields if isinstance(field, ForeignKeyField)]


def check_constrained(model):
    """Names of the fields (and Meta.constraints) of `model` that carry a CHECK."""
    names = [
        field.name
        for field in model._meta.sorted_fields
        if any(map(is_check, field.constraints or ()))
    ]
    if any(map(is_check, model._meta.constraints or ())):
        names.append("Meta.constraints")
    return names


def is_check(node):
    """True for peewee's Check(...) (SQL, or NodeList when named)."""
    if isinstance(node, SQL):
        return node.sql.lstrip().upper().startswith("CHECK")
    return isinstance(node, NodeList) and any(map(is_check, node.nodes))


def warn_unenforced(model, version, kind, enforced_from, names):
    if names:
        warnings.warn(
            "%s: %s does not enforce %s constraints (enforced from TiDB %s), so nothing "
            "stops writes that break them: %s"
            % (model.__name__, version, kind, enforced_from, ", ".join(names)),
            stacklevel=3,
        )
