"""TiDBDatabase: MySQLDatabase that knows which TiDB release it talks to."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from peewee import SQL, Context, ForeignKeyField, Model, MySQLDatabase, NodeList

from .connection import DRIVERS, driver_keywords, load_driver, open_connection
from .stale_read import AsOfTimestamp, StaleReadContext
from .transactions import DEFAULT_MAX_ATTEMPTS, exponential_backoff, run_transaction
from .version import DETECT_SQL, ServerVersion, parse_version

if TYPE_CHECKING:
    from peewee import _savepoint

#: Keywords for peewee's MySQLDatabase itself, not for the connection.
PEEWEE_KEYWORDS = ("mariadb",)

T = TypeVar("T")
Self = TypeVar("Self", bound="TiDBDatabase")


class TiDBDatabase(MySQLDatabase):
    """A TiDB (or any MySQL-compatible) database, over PyMySQL or mysqlclient.

    The connection keywords are checked when the database is made (see
    connection.py): TLS verified whenever it is on, localhost as TCP, a
    bounded wait for the server, unknown keywords refused.
    """

    driver = "pymysql"
    drivers = DRIVERS  # the driver= it takes
    driver_module: ModuleType
    version: ServerVersion | None = None  # once detected

    # Keywords only, as peewee's Database.__init__ passes them (peewee 3.17 has no `mariadb`).
    def init(  # type: ignore[override]
        self, database: str | None, *, driver: str | None = None, **kwargs: Any
    ) -> None:
        if driver is not None:
            self.driver = driver
        self.driver_module = load_driver(self.driver, self.drivers)
        options = {name: kwargs.pop(name) for name in PEEWEE_KEYWORDS if name in kwargs}
        super().init(database, **options, **driver_keywords(self.driver, kwargs))
        self.connection_keywords = kwargs  # as given, for like()

    @classmethod
    def like(cls: type[Self], db: TiDBDatabase, **keywords: Any) -> Self:
        """A database of this class on the server and database of `db`, with its connection
        keywords (checked again) and its driver where this class takes it: one configuration
        for a script's TiDBDatabase, a pool and an asyncio app's AsyncTiDBDatabase."""
        if db.driver in cls.drivers:
            keywords.setdefault("driver", db.driver)
        return cls(db.database, **db.connection_keywords, **keywords)

    def _connect(self) -> Any:
        return open_connection(self.driver_module, self.database, self.connect_params)

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
    def context_class(self) -> type[Context]:
        """peewee's own Context while no stale-read clause exists: no statement can hold one
        then, and each costs what it does on MySQLDatabase (StaleReadContext sees every node)."""
        return StaleReadContext if AsOfTimestamp.live else Context

    @property
    def is_tidb(self) -> bool:
        return self.detect_server_version().is_tidb

    def get_context_options(self) -> dict[str, Any]:
        # DDL and stale reads detect the server (connecting first) only when they depend on it.
        return dict(
            super().get_context_options(), tidb_detect_server_version=self.detect_server_version
        )

    def begin(self, *args: Any, as_of: AsOfTimestamp | None = None, **kwargs: Any) -> None:
        """``transaction(as_of=AsOfTimestamp(...))`` starts a read-only stale-read transaction."""
        if as_of is None:
            return super().begin(*args, **kwargs)
        ctx = self.get_sql_context().literal("START TRANSACTION READ ONLY ").sql(as_of)
        self.execute_sql(*ctx.query())  # type: ignore[no-untyped-call]  # untyped in peewee

    def savepoint(self) -> _savepoint:
        version = self.detect_server_version()
        if not version.supports_savepoints:
            raise NotImplementedError(
                "%s has no SAVEPOINT (added in TiDB v6.2.0), so atomic() blocks cannot "
                "nest; use transaction(), which flattens nested blocks into the outer one" % version
            )
        return super().savepoint()

    def create_tables(self, models: Iterable[type[Model]], **options: Any) -> None:
        version = self.detect_server_version()
        for model in models:
            if not version.enforces_foreign_keys:
                warn_unenforced(model, version, "FOREIGN KEY", "v6.6.0", foreign_key_fields(model))
            checks = check_constrained(model) if version.is_tidb else []
            if checks and not self.enforces_check_constraints():
                enforced_from = "v7.2.0 with tidb_enable_check_constraint=ON"
                warn_unenforced(model, version, "CHECK", enforced_from, checks)
        super().create_tables(models, **options)

    def enforces_check_constraints(self) -> bool:
        """Whether CHECK constraints in new tables are kept; on TiDB v7.2+ this asks the server."""
        version = self.detect_server_version()
        if not version.supports_check_constraints:
            return False
        if not version.is_tidb:
            return True
        query = "SELECT @@GLOBAL.tidb_enable_check_constraint"
        cursor = self.execute_sql(query)  # type: ignore[no-untyped-call]  # untyped in peewee
        return str(cursor.fetchone()[0]).upper() in ("1", "ON")

    def run_transaction(
        self,
        callback: Callable[[TiDBDatabase], T],
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff: Callable[[int], float] = exponential_backoff,
    ) -> T:
        return run_transaction(self, callback, max_attempts, backoff)


def detect(
    conn: Any,
    connect_params: Mapping[str, Any],
    ask: Callable[[str], Sequence[Any]] | None = None,
) -> ServerVersion:
    """The ServerVersion of the server behind `conn`: asked once per process and address.

    A server that changes its handshake version (an upgrade) is asked again.
    ``ask(sql)`` gives the first row of `sql`: by default read from a cursor
    of `conn` (asyncio passes its own).
    """
    key = (connect_params.get("host"), connect_params.get("port"), conn.get_server_info())
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


#: (host, port, handshake version) -> what that server said.
_DETECTED: dict[tuple[object, ...], ServerVersion] = {}


def forget_detected_servers() -> None:
    """Ask every server again on its next new connection (for tests that swap servers)."""
    _DETECTED.clear()


def foreign_key_fields(model: type[Model]) -> list[str]:
    return [field.name for field in model._meta.sorted_fields if isinstance(field, ForeignKeyField)]


def check_constrained(model: type[Model]) -> list[str]:
    """Names of the fields (and Meta.constraints) of `model` that carry a CHECK."""
    names = [
        field.name
        for field in model._meta.sorted_fields
        if any(map(is_check, field.constraints or ()))
    ]
    if any(map(is_check, model._meta.constraints or ())):
        names.append("Meta.constraints")
    return names


def is_check(node: object) -> bool:
    """True for peewee's Check(...) (SQL, or NodeList when named)."""
    if isinstance(node, SQL):
        text: str = node.sql
        return text.lstrip().upper().startswith("CHECK")
    return isinstance(node, NodeList) and any(map(is_check, node.nodes))


def warn_unenforced(
    model: type[Model], version: ServerVersion, kind: str, enforced_from: str, names: list[str]
) -> None:
    if names:
        warnings.warn(
            "%s: %s does not enforce %s constraints (enforced from TiDB %s), so nothing "
            "stops writes that break them: %s"
            % (model.__name__, version, kind, enforced_from, ", ".join(names)),
            stacklevel=3,
        )
