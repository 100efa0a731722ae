"""TiDBDatabase, MySQLDatabase that knows which TiDB release it talks to, and
ReconnectingTiDBDatabase, which replaces a lost connection and never sends a write twice."""

from __future__ import annotations

import contextlib
import re
import select
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import Any, TypeVar

from peewee import (
    DatabaseError,
    Model,
    MySQLDatabase,
    NotSupportedError,
    OperationalError,
    PeeweeException,
)

from ._private import ConnectionHooks, socket_of
from .as_of import AsOfTimestamp, refused_in_transaction
from .errors import CONNECTION_LOST, AmbiguousCommitError, ConfigError, error_code
from .keywords import DRIVERS, driver_keywords, load_driver, open_connection, sendable_text
from .schema import warn_unenforced
from .tls import tls_required
from .transactions import (
    DEFAULT_MAX_ATTEMPTS,
    TransactionStatements,
    begin_statement,
    exponential_backoff,
    run_transaction,
)
from .version import (
    DETECT_SQL,
    IN_PLACE_CHECK_SETTING,
    SAVEPOINTS,
    SHARED_LOCK_PROMOTION,
    ServerVersion,
    parse_version,
    release,
)

#: A shared row lock, MySQL 8's form and the older one (for_update("LOCK IN SHARE MODE")).
SHARED_LOCK = re.compile(r"\bFOR\s+SHARE\b|\bLOCK\s+IN\s+SHARE\s+MODE\b", re.IGNORECASE)

T = TypeVar("T")
Self = TypeVar("Self", bound="TiDBDatabase")


class TiDBDatabase(ConnectionHooks, TransactionStatements, MySQLDatabase):
    """A TiDB (or MySQL-compatible) database over PyMySQL or mysqlclient, keywords checked."""

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
        # As given (reflection, like()), the password apart: another driver may send it otherwise.
        self.given_keywords = dict(
            {k: v for k, v in kwargs.items() if k not in ("password", "passwd")}, driver=self.driver
        )
        self._given_password = kwargs.get("password", kwargs.get("passwd"))
        options = {"mariadb": kwargs.pop("mariadb")} if "mariadb" in kwargs else {}
        super().init(database, **options, **driver_keywords(self.driver, kwargs))

    @classmethod
    def like(cls: type[Self], db: TiDBDatabase, **keywords: Any) -> Self:
        """This class on `db`'s database, keywords and password as given (its driver if this class
        takes it): one configuration for a script, a pool and an asyncio app."""
        given = dict(db.given_keywords)
        if given["driver"] not in cls.drivers:
            del given["driver"]
        if db._given_password is not None:
            given["password"] = db._given_password
        return cls(db.database, **dict(given, **keywords))

    def new_connection(self) -> Any:  # peewee's _connect
        return open_connection(self.driver_module, self.database, self.connect_params)

    def first_connected(self, conn: Any) -> None:
        """The first connection (peewee's _set_server_version) tells the server's release."""
        self.version = detect(conn)

    def detect_server_version(self) -> ServerVersion:
        """Asked again if it failed on the first connection, the only one peewee asks on."""
        if self.version is None:
            self.connect(reuse_if_open=True)
        if self.version is None:
            conn = self.connection()  # type: ignore[no-untyped-call]  # untyped in peewee
            self.version = detect(conn)
        return self.version

    @property
    def is_tidb(self) -> bool:
        return self.detect_server_version().is_tidb

    def get_context_options(self) -> dict[str, Any]:
        # For DDL and stale reads, which detect the server only when they depend on it.
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
        refuse_nested_as_of(self, kwargs)  # as atomic()
        return super().transaction(*args, **kwargs)

    def begin(
        self, *args: Any, as_of: AsOfTimestamp | None = None, mode: str | None = None, **kwargs: Any
    ) -> None:
        """as_of: a read-only stale-read transaction; mode: TiDB's "optimistic" or "pessimistic"."""
        if mode is not None:
            if args or kwargs or as_of is not None:
                raise TypeError("mode= takes no other transaction argument")
            self.execute_sql(begin_statement(mode, self.detect_server_version()))
        elif as_of is None:
            super().begin(*args, **kwargs)
        else:
            ctx = self.get_sql_context().literal("START TRANSACTION READ ONLY ").sql(as_of)
            self.execute_sql(*ctx.query())

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        """A shared lock is refused on TiDB before it is sent; a SAVEPOINT TiDB v6.3+ refuses with
        catch-all error 1105 is explained (told by the statement: TiDB may reword the message)."""
        if SHARED_LOCK.search(sql) and self.detect_server_version().is_tidb:
            raise NotSupportedError(
                "TiDB has no shared locks: FOR SHARE (LOCK IN SHARE MODE) fails with error 1235, "
                "or takes no lock with tidb_enable_noop_functions=ON. Use for_update() (FOR "
                "UPDATE), as TiDB %s's tidb_enable_shared_lock_promotion does, or no lock"
                % release(SHARED_LOCK_PROMOTION)
            )
        try:
            return super().execute_sql(sql, params)
        except DatabaseError as exc:
            if error_code(exc) != 1105 or not sql.startswith("SAVEPOINT"):
                raise
            if not (self.version and self.version.at_least(*IN_PLACE_CHECK_SETTING)):
                raise
            raise NotSupportedError(savepoint_refusal(self)) from exc

    def savepoint(self) -> Any:
        version = self.detect_server_version()
        if not version.supports_savepoints:
            raise NotImplementedError(
                "%s has no SAVEPOINT (added in TiDB %s), so atomic() blocks cannot nest; use "
                "transaction(), which flattens nested blocks into the outer one"
                % (version, release(SAVEPOINTS))
            )
        return super().savepoint()

    def create_tables(self, models: Iterable[type[Model]], **options: Any) -> None:
        models = list(models)
        warn_unenforced(self, models)
        super().create_tables(models, **options)

    def enforces_foreign_keys(self) -> bool:
        return self.switched_on(
            self.detect_server_version().enforces_foreign_keys,
            "SELECT @@foreign_key_checks, @@GLOBAL.tidb_enable_foreign_key",
        )

    def enforces_check_constraints(self) -> bool:
        return self.switched_on(
            self.detect_server_version().supports_check_constraints,
            "SELECT @@GLOBAL.tidb_enable_check_constraint",
        )

    def switched_on(self, supported: bool, query: str) -> bool:
        """Whether a feature the server has is on: on TiDB, every variable `query` reads."""
        if not supported or not self.detect_server_version().is_tidb:
            return supported
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


def savepoint_refusal(database: TiDBDatabase) -> str:
    """Why TiDB refused a SAVEPOINT with 1105; setting the variable is offered only where it is
    not read-only (TiDB Cloud Starter, Essential and Premium)."""
    host = database.connect_params.get("host", "")
    if tls_required(host) or database.detect_server_version().is_tidb_cloud:
        ways = "It is read-only on TiDB Cloud Starter, Essential and Premium: "
    else:
        ways = (
            "Set it ON (SET SESSION tidb_constraint_check_in_place_pessimistic = ON; read-only "
            'on TiDB Cloud Starter, Essential and Premium), use atomic(mode="optimistic"), or '
        )
    return (
        "TiDB refused SAVEPOINT (error 1105): in a pessimistic transaction it needs "
        "tidb_constraint_check_in_place_pessimistic=ON, which this session has OFF. %snest "
        "transaction() instead of atomic(), which joins the outer transaction" % ways
    )


def refuse_nested_as_of(database: TiDBDatabase, kwargs: Mapping[str, Any]) -> None:
    """A nested block would drop as_of and read fresh data: refused."""
    if kwargs.get("as_of") is not None and database.in_transaction():
        raise refused_in_transaction()


def detect(conn: Any, ask: Callable[[str], Sequence[Any]] | None = None) -> ServerVersion:
    """`conn`'s ServerVersion; ``ask(sql)``, asyncio's, gives the first row, else a cursor does."""
    if ask is None:
        with contextlib.closing(conn.cursor()) as cursor:
            cursor.execute(DETECT_SQL)
            return parse_version(*cursor.fetchone())
    return parse_version(*ask(DETECT_SQL))


def found_closed(conn: Any) -> bool:
    """Closed by the driver or the server (KILL, restart, wait_timeout): the server's error packet
    or end of stream waits unasked on an idle connection's socket, seen without a round trip."""
    if not getattr(conn, "open", True):
        return True
    fileno = getattr(socket_of(conn), "fileno", None)
    if fileno is None:
        return False  # a connection that shows no socket: a ping decides
    if hasattr(select, "poll"):  # select() takes no descriptor past 1023
        poller = select.poll()
        poller.register(fileno(), select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fileno()], [], [], 0)[0])


#: Statements that running twice cannot change: reads, and a transaction's start...
CHANGES_NOTHING = re.compile(
    r"[\s(]*(SELECT|SHOW|DESCRIBE|DESC|EXPLAIN|BEGIN|START\s+TRANSACTION)\b", re.IGNORECASE
)
#: ...unless they hold one of these: a lock, a write to a file or a variable, a user lock,
#: a sequence, EXPLAIN ANALYZE (which runs its statement). Any match, even in a string, counts.
NOT_A_READ = re.compile(
    r"\b(FOR\s+UPDATE|FOR\s+SHARE|LOCK\s+IN\s+SHARE\s+MODE|INTO|ANALYZE"
    r"|GET_LOCK|RELEASE_LOCK|RELEASE_ALL_LOCKS|NEXTVAL|SETVAL|NEXT\s+VALUE)\b",
    re.IGNORECASE,
)
FIRST_WORD = re.compile(r"[\s(]*([A-Za-z]+)")


def changes_nothing(sql: str) -> bool:
    """A plain read or BEGIN (a stored function that writes, called from a SELECT, is not seen:
    call it in a transaction)."""
    return bool(CHANGES_NOTHING.match(sql)) and not NOT_A_READ.search(sql)


class ReconnectingTiDBDatabase(TiDBDatabase):
    """Outside a transaction, a closed connection is replaced before a statement is sent; after a
    lost reply (2006, 2013, 2055) only a read or BEGIN is resent; a write: AmbiguousCommitError."""

    def execute_sql(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        send = super().execute_sql  # BEGIN too (TransactionStatements.begin sends it here)
        if self.in_transaction():
            return send(sql, *args, **kwargs)
        conn = None if self.is_closed() else self.connection()  # type: ignore[no-untyped-call]
        if conn is not None and found_closed(conn):
            self._drop_connection()  # the statement goes on a new one
        try:
            return send(sql, *args, **kwargs)
        except OperationalError as exc:
            if error_code(exc) not in CONNECTION_LOST:
                raise
            self._drop_connection()
            if not changes_nothing(sql):
                kind = FIRST_WORD.match(sql)  # never its values
                raise AmbiguousCommitError(
                    exc, kind.group(1).upper() if kind else "the statement"
                ) from exc
        return send(sql, *args, **kwargs)

    def begin(self, *args: Any, isolation_level: str | None = None, **kwargs: Any) -> None:
        if not isolation_level or args or kwargs:
            return super().begin(*args, isolation_level=isolation_level, **kwargs)
        # SET TRANSACTION gives its level to its connection's next transaction only: a BEGIN
        # whose reply was lost is raised, never sent alone on a new connection.
        self.execute_sql("SET TRANSACTION ISOLATION LEVEL %s" % isolation_level)
        TiDBDatabase.execute_sql(self, "BEGIN")

    def _drop_connection(self) -> None:
        with contextlib.suppress(PeeweeException):
            self.close()  # a dead socket's close can fail; peewee forgets it all the same
