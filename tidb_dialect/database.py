"""TiDBDatabase: MySQLDatabase that knows which TiDB release it talks to."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any, TypeVar

from peewee import (
    DatabaseError,
    Model,
    MySQLDatabase,
    NotSupportedError,
    _savepoint,
)

from ._private import DRIVER_ERRORS as DRIVER_ERRORS  # aio.py imports it from here
from .checks import sendable_text
from .connection import DRIVERS, driver_keywords, load_driver, open_connection
from .errors import ConfigError
from .schema import warn_unenforced
from .stale_read import AsOfTimestamp, refused_in_transaction
from .tls import tls_required
from .transactions import (
    DEFAULT_MAX_ATTEMPTS,
    TransactionStatements,
    begin_statement,
    error_code,
    exponential_backoff,
    run_transaction,
)
from .version import (
    DETECT_SQL,
    IN_PLACE_CHECK_SETTING,
    SAVEPOINTS,
    SHARED_LOCK_PROMOTION,
    TIDB_CHARSETS,
    ServerVersion,
    parse_version,
    release,
)

#: A shared row lock, MySQL 8's form and the older one (peewee writes either from
#: for_update("FOR SHARE") or for_update("LOCK IN SHARE MODE")).
SHARED_LOCK = re.compile(r"\bFOR\s+SHARE\b|\bLOCK\s+IN\s+SHARE\s+MODE\b", re.IGNORECASE)

#: Keywords for peewee's MySQLDatabase itself, not for the connection.
PEEWEE_KEYWORDS = ("mariadb",)

T = TypeVar("T")
Self = TypeVar("Self", bound="TiDBDatabase")


class TiDBDatabase(TransactionStatements, MySQLDatabase):
    """A TiDB (or any MySQL-compatible) database, over PyMySQL or mysqlclient.

    The connection keywords are checked when the database is made (see
    connection.py): TLS verified whenever it is on, localhost as TCP, a
    bounded wait for the server, unknown keywords refused.
    """

    driver = "pymysql"
    drivers = DRIVERS  # the driver= it takes
    driver_module: ModuleType
    version: ServerVersion | None = None  # once detected
    _given_password: object = None  # see init()

    # Keywords only, as peewee's Database.__init__ passes them (peewee 3.17 has no `mariadb`).
    def init(  # type: ignore[override]
        self,
        database: str | None,
        *,
        driver: str | None = None,
        db: str | None = None,
        **kwargs: Any,
    ) -> None:
        if db is not None:  # the drivers' old name for it
            if database not in (None, db):
                raise ConfigError.of("db", "give the database once, as the name or as db=")
            database = db
        if isinstance(database, str):
            sendable_text("database", database)
        if driver is not None:
            self.driver = driver
        self.driver_module = load_driver(self.driver, self.drivers)
        # As given, but the password: what code that makes the same database needs (reflection).
        self.given_keywords = dict(
            {k: v for k, v in kwargs.items() if k not in ("password", "passwd")},
            driver=self.driver,
        )
        # The password as given: like() gives it to a class whose driver may send it otherwise.
        self._given_password = kwargs.get("password", kwargs.get("passwd"))
        options = {name: kwargs.pop(name) for name in PEEWEE_KEYWORDS if name in kwargs}
        super().init(database, **options, **driver_keywords(self.driver, kwargs))

    @classmethod
    def like(cls: type[Self], db: TiDBDatabase, **keywords: Any) -> Self:
        """A database of this class on the server and database of `db`, with its keywords
        and password as given (checked again, each driver sending the password its way) and
        its driver where this class takes it: one configuration for a script's TiDBDatabase,
        a pool and an asyncio app's AsyncTiDBDatabase."""
        given = dict(db.given_keywords)
        if given["driver"] not in cls.drivers:
            del given["driver"]
        if db._given_password is not None:
            given["password"] = db._given_password
        return cls(db.database, **dict(given, **keywords))

    def _connect(self) -> Any:
        """A new connection; one for a character set that not every server has (gbk,
        gb18030) starts in utf8mb4 and switches once the server is known to have it."""
        charset = self.connect_params["charset"]
        if charset not in TIDB_CHARSETS:
            return open_connection(self.driver_module, self.database, self.connect_params)
        params = dict(self.connect_params, charset="utf8mb4")
        conn = open_connection(self.driver_module, self.database, params)
        version = detect(conn, self.connect_params)
        if not version.supports_charset(charset):
            conn.close()
            raise ConfigError.of(
                "charset",
                "%s has no %s (TiDB has it from %s): choose another character set, "
                "such as utf8mb4" % (version, charset, release(TIDB_CHARSETS[charset])),
            )
        conn.set_character_set(charset)
        return conn

    def _set_server_version(self, conn: Any) -> None:
        # peewee's own capabilities, as MySQLDatabase has them (missing from peewee's stubs)
        super()._set_server_version(conn)  # type: ignore[misc]
        self.version = detect(conn, self.connect_params)

    def detect_server_version(self) -> ServerVersion:
        """The server's ServerVersion; connects first if this database never has.

        If the question failed on the first connection, it is asked again here: peewee
        calls _set_server_version() on a database's first connection only.
        """
        if self.version is None:
            self.connect(reuse_if_open=True)  # a first connection asks (_set_server_version)
        if self.version is None:
            conn = self.connection()  # type: ignore[no-untyped-call]  # untyped in peewee
            self.version = detect(conn, self.connect_params)
        return self.version

    @property
    def is_tidb(self) -> bool:
        return self.detect_server_version().is_tidb

    def get_context_options(self) -> dict[str, Any]:
        # DDL and stale reads detect the server (connecting first) only when they depend on it;
        # a stale read's clause refuses to be written inside a transaction (TiDB's error 8135).
        return dict(
            super().get_context_options(),
            tidb_detect_server_version=self.detect_server_version,
            tidb_in_transaction=self.in_transaction,
        )

    def atomic(self, *args: Any, **kwargs: Any) -> Any:
        """peewee's atomic(); one reading as of a moment (as_of=) must be the outermost block."""
        refuse_nested_as_of(self, kwargs)
        return super().atomic(*args, **kwargs)

    def transaction(self, *args: Any, **kwargs: Any) -> Any:
        """peewee's transaction(); one reading as of a moment (as_of=) must be the outermost."""
        refuse_nested_as_of(self, kwargs)
        return super().transaction(*args, **kwargs)

    def begin(
        self,
        *args: Any,
        as_of: AsOfTimestamp | None = None,
        mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        """``transaction(as_of=AsOfTimestamp(...))`` starts a read-only stale-read transaction;
        ``atomic(mode="optimistic")`` (or "pessimistic") one in that TiDB transaction mode."""
        if mode is not None:
            if args or kwargs or as_of is not None:
                raise TypeError("mode= takes no other transaction argument")
            statement = begin_statement(mode, self.detect_server_version())
            self.execute_sql(statement)
            return None
        if as_of is None:
            return super().begin(*args, **kwargs)
        ctx = self.get_sql_context().literal("START TRANSACTION READ ONLY ").sql(as_of)
        self.execute_sql(*ctx.query())

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        """peewee's execute_sql(); a shared lock is refused on TiDB before it is sent."""
        if SHARED_LOCK.search(sql) and self.detect_server_version().is_tidb:
            raise NotSupportedError(
                "TiDB has no shared locks: SELECT ... FOR SHARE (or LOCK IN SHARE MODE) fails "
                "with error 1235, and with tidb_enable_noop_functions=ON it takes no lock at "
                "all. Lock the rows with for_update() (FOR UPDATE), as TiDB v%d.%d.%d's "
                "tidb_enable_shared_lock_promotion would, or read them without a lock"
                % SHARED_LOCK_PROMOTION
            )
        return super().execute_sql(sql, params)

    def savepoint(self) -> _savepoint:
        version = self.detect_server_version()
        if not version.supports_savepoints:
            raise NotImplementedError(
                "%s has no SAVEPOINT (added in TiDB %s), so atomic() blocks cannot nest; use "
                "transaction(), which flattens nested blocks into the outer one"
                % (version, release(SAVEPOINTS))
            )
        if version.at_least(*IN_PLACE_CHECK_SETTING):
            return TiDBSavepoint(self)
        return super().savepoint()

    def create_tables(self, models: Iterable[type[Model]], **options: Any) -> None:
        models = list(models)
        warn_unenforced(self, models)
        super().create_tables(models, **options)

    def enforces_foreign_keys(self) -> bool:
        """Whether FOREIGN KEYs are enforced; on TiDB v6.6+ this asks the server whether
        this session checks them and new tables get them as constraints."""
        return self.switched_on(
            self.detect_server_version().enforces_foreign_keys,
            "SELECT @@foreign_key_checks, @@GLOBAL.tidb_enable_foreign_key",
        )

    def enforces_check_constraints(self) -> bool:
        """Whether CHECK constraints in new tables are kept; on TiDB v7.2+ this asks the server."""
        return self.switched_on(
            self.detect_server_version().supports_check_constraints,
            "SELECT @@GLOBAL.tidb_enable_check_constraint",
        )

    def switched_on(self, supported: bool, query: str) -> bool:
        """False where the server lacks the feature, True on servers other than TiDB; on
        TiDB, whether every variable that `query` reads is on (TiDB's switches for it)."""
        if not supported:
            return False
        if not self.detect_server_version().is_tidb:
            return True
        cursor = self.execute_sql(query)
        return all(str(value).upper() in ("1", "ON") for value in cursor.fetchone())

    def run_transaction(
        self,
        callback: Callable[[TiDBDatabase], T],
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: Callable[[int], float] = exponential_backoff,
        mode: str | None = None,
    ) -> T:
        return run_transaction(self, callback, max_attempts, backoff, mode)


class TiDBSavepoint(_savepoint):
    """A SAVEPOINT that says why TiDB v6.3+ refused it with its catch-all error 1105."""

    def _begin(self) -> None:
        try:
            super()._begin()  # type: ignore[misc]  # untyped in peewee
        except DatabaseError as exc:
            # Told apart by where it came from, not by its text, which TiDB may reword.
            if error_code(exc) != 1105:
                raise
            raise NotSupportedError(savepoint_refusal(self.db)) from exc


#: Why TiDB refuses a SAVEPOINT with 1105 (tidb_constraint_check_in_place_pessimistic is OFF).
SAVEPOINT_REFUSED = (
    "TiDB refused SAVEPOINT (error 1105): in a pessimistic transaction it needs "
    "tidb_constraint_check_in_place_pessimistic=ON, and this session has it OFF. "
)
#: What works everywhere: no SAVEPOINT at all.
NEST_TRANSACTION = "nest transaction() instead of atomic(), which joins the outer transaction"


def savepoint_refusal(database: Any) -> str:
    """The advice for a refused SAVEPOINT that works where `database` is: on TiDB Cloud
    Starter, Essential and Premium (TiDB X) the variable is read-only, so it is not offered."""
    version, host = database.version, database.connect_params.get("host", "")
    if tls_required(host) or (version is not None and version.is_tidb_cloud):
        return (
            SAVEPOINT_REFUSED + "On TiDB Cloud Starter, Essential and Premium that variable is "
            "read-only: " + NEST_TRANSACTION
        )
    return (
        SAVEPOINT_REFUSED + "Set it ON (SET SESSION tidb_constraint_check_in_place_pessimistic "
        "= ON; on TiDB Self-Managed and Dedicated, as it is read-only on TiDB Cloud Starter, "
        'Essential and Premium), run the transaction in optimistic mode (atomic(mode="optimistic")'
        "), or " + NEST_TRANSACTION
    )


def refuse_nested_as_of(database: TiDBDatabase, kwargs: Mapping[str, Any]) -> None:
    """Inside a transaction a nested block would drop as_of and read fresh data: refused."""
    if kwargs.get("as_of") is not None and database.in_transaction():
        raise refused_in_transaction()


def detect(
    conn: Any,
    connect_params: Mapping[str, Any],
    ask: Callable[[str], Sequence[Any]] | None = None,
) -> ServerVersion:
    """The ServerVersion of the server behind `conn`: asked once per process, address and user.

    One TiDB Cloud gateway serves many clusters, chosen by the user's prefix, so each
    user is asked; a server that changes its handshake version (an upgrade) is asked again.
    ``ask(sql)`` gives the first row of `sql`: by default read from a cursor
    of `conn` (asyncio passes its own).
    """
    key = (
        connect_params.get("host"),
        connect_params.get("port"),
        connect_params.get("user"),
        conn.get_server_info(),
    )
    version = _DETECTED.get(key)
    if version is None:
        version = _DETECTED[key] = parse_version(*(ask or first_row(conn))(DETECT_SQL))
    return version


def first_row(conn: Any) -> Callable[[str], Sequence[Any]]:
    """ask() for detect(): the first row of a statement, on a cursor of a DB-API `conn`."""

    def ask(sql: str) -> Sequence[Any]:
        cursor = conn.cursor()
        try:
            cursor.execute(sql)
            row: Sequence[Any] = cursor.fetchone()
            return row
        finally:
            cursor.close()

    return ask


#: (host, port, user, handshake version) -> what that server said.
_DETECTED: dict[tuple[object, ...], ServerVersion] = {}


def forget_detected_servers() -> None:
    """Ask every server again on its next new connection (for tests that swap servers)."""
    _DETECTED.clear()
