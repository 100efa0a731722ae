"""asyncio: AsyncTiDBDatabase on peewee 4's playhouse.pwasyncio (aiomysql), and arun_transaction;
imported on first use, so the rest needs neither peewee 4 nor aiomysql and greenlet."""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import peewee
from peewee import InterfaceError, OperationalError

from .errors import CONNECTION_LOST, AmbiguousCommitError, ConfigError, error_code
from .keywords import ASYNC_DRIVERS, checked_numbers, load_driver

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

# After the checks above, which say what is missing.
from ._private import PwasyncioPool, closed_by_server  # noqa: E402
from .database import TiDBDatabase, detect  # noqa: E402
from .pool import stale_timeout_for  # noqa: E402
from .transactions import DEFAULT_MAX_ATTEMPTS, exponential_backoff, run_transaction  # noqa: E402

T = TypeVar("T")
DB = TypeVar("DB", bound="AsyncTiDBDatabase")


class OpenTransaction:
    def __init__(self, db: AsyncTiDBDatabase) -> None:
        self.db, self.task, self.open = db, asyncio.current_task(), True


#: The transaction begun in this context, which a task started inside it (gather, create_task)
#: copies: its statements are refused, as pwasyncio would run them outside the transaction.
OPEN_TRANSACTION: contextvars.ContextVar[OpenTransaction | None] = contextvars.ContextVar(
    "tidb_dialect_open_transaction", default=None
)


class AsyncTiDBDatabase(TiDBDatabase, PwasyncioPool, pwasyncio.AsyncMySQLDatabase):
    """TiDBDatabase on asyncio, one pooled connection per task (playhouse.pwasyncio)."""

    driver = "aiomysql"
    drivers = ASYNC_DRIVERS
    stale_timeout: int | None = None

    def __init__(self, database: str | None, **kwargs: Any) -> None:
        # Checked here: pwasyncio's __init__ takes them before init() sees the rest.
        kwargs = checked_numbers(kwargs, "AsyncTiDBDatabase")
        if kwargs.get("pool_min_size", 1) > kwargs.get("pool_size", 10):
            raise ConfigError.of("pool_min_size", "must not be more than pool_size")
        super().__init__(database, **kwargs)

    # Keywords only, as peewee's Database.__init__ passes them (see TiDBDatabase.init).
    def init(self, database: str | None, **kwargs: Any) -> None:  # type: ignore[override]
        stale_timeout = kwargs.pop("stale_timeout", None)
        super().init(database, **kwargs)
        if stale_timeout is None:
            stale_timeout = stale_timeout_for(self.connect_params["host"])
        self.stale_timeout = stale_timeout

    def connect(self, reuse_if_open: bool = False) -> Any:
        return super().connect()  # peewee's signature, as TiDBDatabase calls it

    async def aconnect(self) -> Any:
        """Between transactions, one the server closed or older than stale_timeout is replaced."""
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
        while not self.in_transaction() and self.worn_out(conn.conn):
            conn.conn.close()  # pwasyncio replaces a closed connection, and the pool drops it
            conn = await super().aconnect()
        if self.version is None:
            ask = lambda sql: pwasyncio.await_(conn.execute(sql)).fetchone()  # noqa: E731
            self.version = await self.run(detect, conn.conn, ask)
        return conn

    def worn_out(self, conn: Any) -> bool:
        age = time.monotonic() - conn.opened_at
        return closed_by_server(conn) or (
            self.stale_timeout is not None and age > self.stale_timeout
        )

    def close(self) -> bool:
        """Outside any task (at exit, a sync teardown) there is no task's connection to close."""
        return False if self.is_closed() else bool(super().close())

    def begin(self, *args: Any, **kwargs: Any) -> None:
        """BEGIN, sent again if its reply was lost (it changes nothing) on pwasyncio's new one."""
        try:
            super().begin(*args, **kwargs)
        except OperationalError as exc:
            if error_code(exc) not in CONNECTION_LOST:
                raise
            super().begin(*args, **kwargs)
        OPEN_TRANSACTION.set(OpenTransaction(self))

    def commit(self) -> None:
        """Cancelled before COMMIT's reply: the connection is closed (the server rolls back)."""
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
        """No ROLLBACK on a closed connection (the server rolls back): it would hide the error that
        closed it, as the greenlet bridge drops the exception context."""
        try:
            if self.is_closed() or not self.connection().stale():  # type: ignore[no-untyped-call]
                super().rollback()
        finally:
            self.transaction_ended()

    def transaction_ended(self) -> None:  # tasks started inside it may run statements now
        opened = OPEN_TRANSACTION.get()
        if opened is not None and opened.db is self:
            opened.open = False

    def pause(self, seconds: float) -> None:
        """retry_transaction()'s backoff (run by ``await db.run(fn)``), not blocking the loop."""
        pwasyncio.await_(asyncio.sleep(seconds))

    async def adetect_server_version(self) -> Any:
        await self.aconnect()
        return self.detect_server_version()


async def arun_transaction(
    db: DB,
    callback: Callable[[DB], Awaitable[T]],
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    mode: str | None = None,
    backoff: Callable[[int], float] = exponential_backoff,
) -> T:
    """run_transaction(), ``await callback(db)`` in its loop run by ``db.run()``; a task cancelled
    before COMMIT rolls back, after it (reply awaited) raises AmbiguousCommitError."""

    def attempt(db: DB) -> T:
        result: T = pwasyncio.await_(callback(db))
        return result

    result: T = await db.run(run_transaction, db, attempt, max_attempts, backoff, mode)
    return result
