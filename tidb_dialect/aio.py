"""asyncio: AsyncTiDBDatabase on peewee 4's playhouse.pwasyncio (aiomysql), and arun_transaction.

The database is TiDBDatabase with pwasyncio's task-local connections from a
pool: the same keywords checked by the same code (connection.py), the same
version detection and gates. This module is imported on first use of
``tidb_dialect.AsyncTiDBDatabase`` or ``tidb_dialect.arun_transaction``, so
the rest of the dialect needs neither peewee 4 nor aiomysql and greenlet.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import peewee

from .checks import parse_whole_number
from .connection import ASYNC_DRIVERS, load_driver
from .errors import ConfigError

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
from .pool import ASYNC_POOL_KEYWORDS  # noqa: E402

T = TypeVar("T")
DB = TypeVar("DB", bound="AsyncTiDBDatabase")

#: MySQL client errors: TLS could not be set up; a connection lost (here: before the greeting).
CR_SSL_CONNECTION_ERROR, CR_SERVER_LOST = 2026, 2013
CLIENT_SSL = 0x800  # the server's capability flag "I speak TLS"


class AsyncTiDBDatabase(TiDBDatabase, pwasyncio.AsyncMySQLDatabase):
    """TiDBDatabase on asyncio: ``await db.aexecute(query)``, ``async with db.atomic()``,
    ``await db.run(fn)``, one connection per task from a pool (playhouse.pwasyncio).

    Pool keywords: pool_size (default 10), pool_min_size (1), acquire_timeout (10 s).
    """

    driver = "aiomysql"
    drivers = ASYNC_DRIVERS

    def __init__(self, database: str | None, **kwargs: Any) -> None:
        # Checked here: pwasyncio's __init__ takes them before init() sees the rest.
        for name, (lowest, highest) in ASYNC_POOL_KEYWORDS.items():
            if kwargs.get(name) is not None:
                kwargs[name] = parse_whole_number(name, kwargs[name], lowest, highest)
        if kwargs.get("pool_min_size", 1) > kwargs.get("pool_size", 10):
            raise ConfigError.of("pool_min_size", "must not be more than pool_size")
        super().__init__(database, **kwargs)

    def connect(self, reuse_if_open: bool = False) -> Any:
        """The task's connection (peewee's signature, as TiDBDatabase calls it; one is
        reused anyway). In async code, ``await db.aconnect()``."""
        return super().connect()

    async def aconnect(self) -> Any:
        """The task's connection; its server is detected on the database's first one."""
        conn = await super().aconnect()
        if self.version is None:
            self.version = await self.run(detect, conn.conn, self.connect_params, ask_on(conn))
        return conn

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

    def rollback(self) -> None:
        """No ROLLBACK on a closed connection (its COMMIT's reply lost, its task cancelled in a
        statement): the server ends the transaction of a connection that goes. Sending one would
        fail and hide the error that closed it (the greenlet bridge drops the exception context)."""
        conn = self._state.conn
        if conn is None or not conn.stale():
            super().rollback()

    def pause(self, seconds: float) -> None:
        """retry_transaction()'s wait between attempts, awaited: the event loop runs on."""
        pwasyncio.await_(asyncio.sleep(seconds))

    async def adetect_server_version(self) -> Any:
        """``await db.adetect_server_version()``: detect_server_version() from async code."""
        await self.aconnect()
        return self.detect_server_version()

    async def _acquire_conn_async(self) -> Any:
        """pwasyncio's, without its two timeouts (a Task each before Python 3.12) when the
        pool has a free connection that no one else is taking: then nothing waits."""
        pool = self._pool
        if pool is None or not pool.has_one_ready():
            return await super()._acquire_conn_async()
        with peewee.__exception_wrapper__:  # type: ignore[attr-defined]  # as pwasyncio's
            conn = AsyncTiDBConnection(await pool.acquire())
        conn._pool = pool  # as pwasyncio's: the pool it goes back to
        return conn

    async def _pool_acquire(self, pool: Any) -> Any:
        return AsyncTiDBConnection((await super()._pool_acquire(pool)).conn)

    async def _create_pool_async(self) -> Any:
        # aiomysql.create_pool() would fill the pool with connections not made by ours.
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

    async def arun_transaction(
        self,
        callback: Callable[[AsyncTiDBDatabase], Awaitable[T]],
        max_attempts: int = transactions.DEFAULT_MAX_ATTEMPTS,
        mode: str | None = None,
    ) -> T:
        return await arun_transaction(self, callback, max_attempts, mode)


#: What peewee sends to begin and end a transaction: no parameters, no rows back.
TRANSACTION_STATEMENTS = frozenset(
    ("BEGIN", "COMMIT", "ROLLBACK", *transactions.TRANSACTION_MODES.values())
)


class AsyncTiDBConnection(pwasyncio.AsyncMySQLConnection):
    """pwasyncio's connection, sending BEGIN, COMMIT and ROLLBACK with aiomysql's query()
    where pwasyncio opens, reads and closes a cursor for each: a sixth of a trade's client
    CPU at 16 tasks."""

    async def _execute(self, sql: str, params: Any = None) -> Any:
        if params or sql not in TRANSACTION_STATEMENTS:
            return await super()._execute(sql, params)
        rowcount = await self.conn.query(sql)
        return pwasyncio.CursorAdapter(
            [], lastrowid=self.conn.insert_id(), rowcount=rowcount, description=None
        )


class AsyncTiDBSavepoint(pwasyncio._async_transaction_helper, TiDBSavepoint):
    """TiDBSavepoint with pwasyncio's ``async with`` (pwasyncio's async_savepoint is peewee's)."""


def ask_on(conn: Any) -> Callable[[str], Any]:
    """detect()'s ask() on a pwasyncio connection, from sync code run by db.run()."""
    return lambda sql: pwasyncio.await_(conn.execute(sql)).fetchone()


class TiDBConnection(aiomysql.Connection):
    """aiomysql's connection, keeping TLS: aiomysql goes on in clear (password and all)
    when the server does not offer the TLS it was given a context for."""

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
    the TCP connection only); a failure names its cause (aiomysql's message does not)."""
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
    return conn


def _making_connections_with(function: Any, connect: Any) -> Any:
    """aiomysql's `function`, calling `connect` where it calls aiomysql's connect()."""
    namespace = dict(function.__globals__, connect=connect)
    return types.FunctionType(
        function.__code__, namespace, function.__name__, function.__defaults__, function.__closure__
    )


class TiDBPool(aiomysql.Pool):
    """aiomysql's pool of TiDBConnections (aiomysql takes no connection class)."""

    _fill_free_pool = _making_connections_with(aiomysql.Pool._fill_free_pool, connect_verified)

    def has_one_ready(self) -> bool:
        """A free connection, and no task holding the pool's lock (filling it, or taking one):
        acquire() takes it at once, or (if it died) opens one within connect_timeout."""
        return bool(self._free) and not self._cond.locked() and not self._closing


async def arun_transaction(
    db: DB,
    callback: Callable[[DB], Awaitable[T]],
    max_attempts: int = transactions.DEFAULT_MAX_ATTEMPTS,
    mode: str | None = None,
    backoff: Callable[[int], float] = transactions.exponential_backoff,
) -> T:
    """run_transaction() on asyncio: ``await callback(db)`` in a transaction, run again
    as a whole on the same retryable errors after the same (awaited) backoff.

    A COMMIT whose reply was lost raises AmbiguousCommitError and is never run again;
    a task cancelled in the transaction rolls it back and stays cancelled.
    """

    def attempt(db: DB) -> T:
        result: T = pwasyncio.await_(callback(db))
        return result

    result: T = await db.run(transactions.run_transaction, db, attempt, max_attempts, backoff, mode)
    return result
