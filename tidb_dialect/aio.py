"""asyncio: AsyncTiDBDatabase on peewee 4's playhouse.pwasyncio (aiomysql), and arun_transaction.

The database is TiDBDatabase with pwasyncio's task-local connections from a
pool: the same keywords checked by the same code (connection.py), the same
version detection and gates. This module is imported on first use of
``tidb_dialect.AsyncTiDBDatabase`` or ``tidb_dialect.arun_transaction``, so
the rest of the dialect needs neither peewee 4 nor aiomysql and greenlet.

Built on pwasyncio's public API. The private names of pwasyncio and aiomysql it
uses serve security or correctness only (the pool's hook and sizes, to fill it
with TiDBConnections: TLS never given up, the greeting bounded; aiomysql's test
of a connection the server closed), each tested in tests/test_aio_internals.py.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
import types
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import peewee
from peewee import InterfaceError, OperationalError

from .checks import parse_whole_number
from .connection import ASYNC_DRIVERS, load_driver
from .errors import AmbiguousCommitError, ConfigError

PEEWEE_VERSION: str = peewee.__version__  # type: ignore[attr-defined]  # not in peewee's stubs
if int(PEEWEE_VERSION.split(".")[0]) < 4:
    raise ConfigError.of(
        "peewee",
        "AsyncTiDBDatabase and arun_transaction need peewee 4.x (playhouse.pwasyncio), "
        "but this is peewee %s" % PEEWEE_VERSION,
    )
try:
    from playhouse import pwasyncio
except ModuleNotFoundError as missing:  # pwasyncio imports greenlet first
    raise ConfigError.of(
        "driver",
        "AsyncTiDBDatabase needs aiomysql and greenlet: %s is not installed" % missing.name,
    ) from None
load_driver("aiomysql", ASYNC_DRIVERS)  # says which package is missing

import aiomysql  # noqa: E402

from . import transactions  # noqa: E402  (after the checks above, which say what is missing)
from .database import TiDBDatabase, TiDBSavepoint, detect  # noqa: E402
from .pool import ASYNC_POOL_KEYWORDS, default_stale_timeout  # noqa: E402

T = TypeVar("T")
DB = TypeVar("DB", bound="AsyncTiDBDatabase")

#: MySQL client errors: TLS could not be set up; a connection lost (here: before the greeting).
CR_SSL_CONNECTION_ERROR, CR_SERVER_LOST = 2026, 2013
CLIENT_SSL = 0x800  # the server's capability flag "I speak TLS"


class OpenTransaction:
    """A transaction a task began; open until its COMMIT or ROLLBACK."""

    def __init__(self, db: AsyncTiDBDatabase) -> None:
        self.db, self.task, self.open = db, asyncio.current_task(), True


#: The transaction begun in this context. A task started inside it (asyncio.gather,
#: create_task) copies the context, and so sees it: its statements are refused, since
#: pwasyncio would run them on a connection of their own, outside the transaction.
OPEN_TRANSACTION: contextvars.ContextVar[OpenTransaction | None] = contextvars.ContextVar(
    "tidb_dialect_open_transaction", default=None
)


class AsyncTiDBDatabase(TiDBDatabase, pwasyncio.AsyncMySQLDatabase):
    """TiDBDatabase on asyncio: ``await db.aexecute(query)``, ``async with db.atomic()``,
    ``await db.run(fn)``, one connection per task from a pool (playhouse.pwasyncio).

    Pool keywords: pool_size (default 10), pool_min_size (1), acquire_timeout (10 s),
    stale_timeout (seconds after which a connection is replaced between transactions;
    as PooledTiDBDatabase's, 300 to TiDB Cloud's gateway, else none).
    """

    driver = "aiomysql"
    drivers = ASYNC_DRIVERS
    stale_timeout: int | None = None

    def __init__(self, database: str | None, **kwargs: Any) -> None:
        # Checked here: pwasyncio's __init__ takes them before init() sees the rest.
        for name, (lowest, highest) in ASYNC_POOL_KEYWORDS.items():
            if kwargs.get(name) is not None:
                kwargs[name] = parse_whole_number(name, kwargs[name], lowest, highest)
        if kwargs.get("pool_min_size", 1) > kwargs.get("pool_size", 10):
            raise ConfigError.of("pool_min_size", "must not be more than pool_size")
        super().__init__(database, **kwargs)

    # Keywords only, as peewee's Database.__init__ passes them (see TiDBDatabase.init).
    def init(self, database: str | None, **kwargs: Any) -> None:  # type: ignore[override]
        stale_timeout = kwargs.pop("stale_timeout", None)
        super().init(database, **kwargs)
        if stale_timeout is None:
            stale_timeout = default_stale_timeout(self.connect_params["host"])
        self.stale_timeout = stale_timeout

    def connect(self, reuse_if_open: bool = False) -> Any:
        """The task's connection (peewee's signature, as TiDBDatabase calls it; one is
        reused anyway). In async code, ``await db.aconnect()``."""
        return super().connect()

    async def aconnect(self) -> Any:
        """The task's connection: pwasyncio replaces one known to be closed; between
        transactions, one the server closed (KILL, a restart: seen without a round trip) or
        older than stale_timeout is replaced too. Its server is detected on the database's
        first one."""
        opened = OPEN_TRANSACTION.get()
        if (
            opened
            and opened.open
            and opened.db is self
            and opened.task is not asyncio.current_task()
        ):
            raise InterfaceError(
                "a statement in a task started inside a transaction (asyncio.gather, "
                "create_task) would run on another connection, outside the transaction: "
                "await the statements one after another in the transaction's own task"
            )
        conn = await super().aconnect()
        if not self.in_transaction() and closed_by_server(conn.conn):
            conn.conn.close()  # aiomysql's; pwasyncio replaces a closed one
            conn = await super().aconnect()
        while self.is_too_old(conn):
            await conn.conn.ensure_closed()  # aiomysql's: the pool drops a closed connection
            await self.aclose()
            conn = await super().aconnect()
        if self.version is None:
            self.version = await self.run(detect, conn.conn, self.connect_params, ask_on(conn))
        return conn

    def is_too_old(self, conn: Any) -> bool:
        """Open longer than stale_timeout, and no transaction on it."""
        if self.stale_timeout is None or self.in_transaction():
            return False
        return bool(time.monotonic() - conn.conn.opened_at > self.stale_timeout)

    def savepoint(self) -> Any:
        """TiDBDatabase's gates, then pwasyncio's savepoint (``async with``), TiDB's where
        TiDBDatabase gives one (it explains TiDB v6.3+'s error 1105)."""
        helper = super().savepoint()
        return AsyncTiDBSavepoint(self) if isinstance(helper, TiDBSavepoint) else helper

    def close(self) -> bool:
        """Outside any task (at exit, a sync teardown) there is no task's connection to close."""
        if self.is_closed():
            return False
        result: bool = super().close()
        return result

    def begin(self, *args: Any, **kwargs: Any) -> None:
        """BEGIN on a live connection: pwasyncio's would go to a connection that died since
        its last statement (after a cancellation, a timeout, a lost reply). One the server
        closed unseen fails at BEGIN: nothing was done on it, so BEGIN goes on a new one."""
        if self.is_closed() or self.connection().stale():  # type: ignore[no-untyped-call]
            self.connect()  # replaces one known to be closed
        try:
            super().begin(*args, **kwargs)
        except OperationalError as exc:
            if transactions.error_code(exc) not in transactions.CONNECTION_LOST:
                raise
            self.connect()
            super().begin(*args, **kwargs)
        OPEN_TRANSACTION.set(OpenTransaction(self))

    def commit(self) -> None:
        """COMMIT; cancelled before its reply came, it may have committed or not: the
        connection is closed (the server rolls back what it did not commit) and
        AmbiguousCommitError raised in place of the CancelledError."""
        try:
            super().commit()
        except asyncio.CancelledError as cancelled:
            conn = self.connection()  # type: ignore[no-untyped-call]  # untyped in peewee
            if not conn.stale():  # cancelled before COMMIT was sent; aiomysql closes it after
                conn.conn.close()
            raise AmbiguousCommitError(cancelled) from cancelled
        finally:
            self.transaction_ended()

    def rollback(self) -> None:
        """No ROLLBACK on a closed connection (its COMMIT's reply lost, its task cancelled in a
        statement): the server ends the transaction of a connection that goes. Sending one would
        fail and hide the error that closed it (the greenlet bridge drops the exception context)."""
        try:
            if self.is_closed() or not self.connection().stale():  # type: ignore[no-untyped-call]
                super().rollback()
        finally:
            self.transaction_ended()

    def transaction_ended(self) -> None:
        """Tasks started inside the transaction may run statements from now on."""
        opened = OPEN_TRANSACTION.get()
        if opened is not None and opened.db is self:
            opened.open = False

    def pause(self, seconds: float) -> None:
        """Wait `seconds` without blocking the event loop (retry_transaction's backoff, from
        sync code run by ``await db.run(fn)``)."""
        pwasyncio.await_(asyncio.sleep(seconds))

    async def adetect_server_version(self) -> Any:
        """``await db.adetect_server_version()``: detect_server_version() from async code."""
        await self.aconnect()
        return self.detect_server_version()

    async def arun_transaction(
        self,
        callback: Callable[[AsyncTiDBDatabase], Awaitable[T]],
        max_attempts: int = transactions.DEFAULT_MAX_ATTEMPTS,
        mode: str | None = None,
    ) -> T:
        return await arun_transaction(self, callback, max_attempts, mode)

    # Private names of pwasyncio and aiomysql: kept for security and correctness only,
    # each tested in tests/test_aio_internals.py.

    async def _create_pool_async(self) -> Any:
        """pwasyncio's hook: a pool of TiDBConnections (security: TLS never given up; a
        bounded greeting). aiomysql.create_pool() would fill it with aiomysql's own."""
        return TiDBPool(
            minsize=self._pool_min_size,
            maxsize=self._pool_size,
            echo=False,
            pool_recycle=-1,
            loop=asyncio.get_running_loop(),
            db=self.database,
            autocommit=True,
            **self.connect_params,
        )


class AsyncTiDBSavepoint(pwasyncio.async_savepoint, TiDBSavepoint):
    """TiDBSavepoint with pwasyncio's ``async with``."""


def ask_on(conn: Any) -> Callable[[str], Any]:
    """detect()'s ask() on a pwasyncio connection, from sync code run by db.run()."""
    return lambda sql: pwasyncio.await_(conn.execute(sql)).fetchone()


class TiDBConnection(aiomysql.Connection):
    """aiomysql's connection, keeping TLS: aiomysql goes on in clear (password and all)
    when the server does not offer the TLS it was given a context for (security)."""

    opened_at = 0.0  # time.monotonic() when its handshake ended

    async def _request_authentication(self) -> None:
        if self._ssl_context and not self.server_capabilities & CLIENT_SSL:
            raise aiomysql.OperationalError(
                CR_SSL_CONNECTION_ERROR,
                "TLS was asked for, but the server at %s:%d offers none; the password "
                "was not sent" % (self._host, self._port),
            )
        await super()._request_authentication()


async def connect_verified(**kwargs: Any) -> Any:
    """A TiDBConnection, connect_timeout bounding its greeting too (aiomysql's bounds
    the TCP connection only: correctness); a failure names its cause (aiomysql's does not)."""
    conn = TiDBConnection(**kwargs)
    try:
        await asyncio.wait_for(conn._connect(), conn.connect_timeout)
    except asyncio.TimeoutError:
        conn.close()
        raise aiomysql.OperationalError(
            CR_SERVER_LOST,
            "Lost connection to MySQL server at 'reading initial communication packet' "
            "(no greeting within connect_timeout=%d s)" % conn.connect_timeout,
        ) from None
    except aiomysql.OperationalError as exc:
        if exc.__cause__ is None:
            raise
        code, message = exc.args
        raise type(exc)(code, "%s (%s)" % (message, exc.__cause__)) from exc.__cause__
    conn.opened_at = time.monotonic()
    return conn


def _making_connections_with(function: Any, connect: Any) -> Any:
    """aiomysql's `function`, calling `connect` where it calls aiomysql's connect()."""
    namespace = dict(function.__globals__, connect=connect)
    return types.FunctionType(
        function.__code__, namespace, function.__name__, function.__defaults__, function.__closure__
    )


def closed_by_server(conn: Any) -> bool:
    """aiomysql's own test of a free connection in its pool (Pool._fill_free_pool), for the
    task's connection: the server's goodbye or end of stream arrived unasked (correctness:
    a statement would fail with 2013 on it)."""
    reader = conn._reader
    return reader is not None and bool(reader.at_eof() or reader.exception() or reader.eof_received)


class TiDBPool(aiomysql.Pool):
    """aiomysql's pool of TiDBConnections (aiomysql takes no connection class)."""

    _fill_free_pool = _making_connections_with(aiomysql.Pool._fill_free_pool, connect_verified)


async def arun_transaction(
    db: DB,
    callback: Callable[[DB], Awaitable[T]],
    max_attempts: int = transactions.DEFAULT_MAX_ATTEMPTS,
    mode: str | None = None,
    backoff: Callable[[int], float] = transactions.exponential_backoff,
) -> T:
    """run_transaction() on asyncio: ``await callback(db)`` in a transaction, run again
    as a whole on the same retryable errors after the same (awaited) backoff: the sync
    loop itself, run by ``db.run()``, which waits with pause().

    A COMMIT whose reply was lost, or cancelled while its reply is awaited, raises
    AmbiguousCommitError and is never run again; a task cancelled before COMMIT rolls
    the transaction back and stays cancelled.
    """

    def attempt(db: DB) -> T:
        result: T = pwasyncio.await_(callback(db))
        return result

    result: T = await db.run(transactions.run_transaction, db, attempt, max_attempts, backoff, mode)
    return result
