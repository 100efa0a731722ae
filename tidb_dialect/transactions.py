"""Retrying transactions the way the TiDB docs ask: roll back, back off, run again.

TiDB reports conflicts between concurrent transactions as errors that are
safe to retry: the whole transaction is rolled back before the next attempt,
so nothing of a failed attempt survives.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from peewee import (
    DatabaseError,
    DatabaseProxy,
    InterfaceError,
    NotSupportedError,
    PeeweeException,
    SqliteDatabase,
)

from .checks import whole_number
from .errors import AmbiguousCommitError, ConfigError, ExceededMaxAttempts

if TYPE_CHECKING:
    from peewee import Database

    from .version import ServerVersion

logger = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")
DB = TypeVar("DB", bound="Database | DatabaseProxy")

#: Error codes after which the whole transaction may run again (TiDB's
#: IsTxnRetryableError, and the transaction guide's list).
RETRYABLE_ERRORS = {
    8002: "SELECT FOR UPDATE conflict (optimistic mode)",
    8005: "write conflict in TiDB",
    8022: "KV error safe to retry",
    8028: "schema changed during the transaction",
    9007: "write conflict",
    1213: "deadlock",
}
# Not 1205 (lock wait timeout): each attempt may block for
# innodb_lock_wait_timeout (50 s), so retrying multiplies a stall that a
# caller should see.

#: SQLite's primary result codes for "another connection holds the lock" (SQLITE_BUSY,
#: SQLITE_LOCKED); its extended codes keep them in the low byte.
SQLITE_RETRYABLE = {5: "database is locked (busy)", 6: "a table is locked"}

DEFAULT_MAX_ATTEMPTS = 10
MAX_ATTEMPTS = 10**6  # the most max_attempts may ask for

#: TiDB's transaction modes -> the statement that starts one transaction in that mode,
#: whatever tidb_txn_mode says (pingcap/docs optimistic-transaction.md, pessimistic-transaction.md).
TRANSACTION_MODES = {"optimistic": "BEGIN OPTIMISTIC", "pessimistic": "BEGIN PESSIMISTIC"}


def begin_statement(mode: str, version: ServerVersion | None) -> str:
    """The BEGIN that starts a transaction in `mode` on the server `version` describes
    (None: not a TiDBDatabase). Only TiDB has modes: elsewhere it is refused, so that
    nothing is sent that would run in another mode than the one asked for."""
    if mode not in TRANSACTION_MODES:
        raise ConfigError.of("mode", "must be 'optimistic' or 'pessimistic', got %r" % (mode,))
    if version is None or not version.is_tidb:
        raise NotSupportedError(
            "mode=%r: transaction modes (BEGIN OPTIMISTIC, BEGIN PESSIMISTIC) are TiDB's, but "
            "this is %s; leave mode out there" % (mode, version or "not a TiDBDatabase")
        )
    return TRANSACTION_MODES[mode]


#: Client errors for a connection lost while waiting for the server's reply.
CONNECTION_LOST = {2006: "server has gone away", 2013: "lost connection", 2055: "lost connection"}


def error_code(exc: BaseException) -> int | None:
    """The server's error number behind a peewee or driver exception, or None."""
    args = getattr(getattr(exc, "orig", exc), "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def is_retryable(exc: BaseException) -> bool:
    """By the error's number, never its text: a message can quote the user's data."""
    if error_code(exc) in RETRYABLE_ERRORS:
        return True
    # SQLite's busy timeout ran out: another writer held the lock throughout. Python 3.11+
    # gives SQLite's result code; before that an error carries none, and is not retried.
    sqlite_code = getattr(getattr(exc, "orig", exc), "sqlite_errorcode", None)
    return isinstance(sqlite_code, int) and sqlite_code & 0xFF in SQLITE_RETRYABLE


def commit_cut_off(exc: BaseException | None) -> BaseException | None:
    """What cut COMMIT off before its reply came, behind `exc`: a lost connection or Ctrl-C.

    None for an answer from the server (a write conflict, say). The deepest
    one is COMMIT's own: after it, peewee sends ROLLBACK, which fails too on
    a dead connection (2006, or PyMySQL's (0, '')).
    """
    cause = None
    while exc is not None:
        if isinstance(exc, KeyboardInterrupt) or error_code(exc) in CONNECTION_LOST:
            cause = exc
        exc = exc.__context__
    return cause


def exponential_backoff(attempt: int) -> float:
    """Seconds to wait before attempt `attempt + 1`: the TiDB docs' formula."""
    return ((1.5**attempt) + random.random()) * 0.1


#: Transactions committed so far in this thread (or asyncio task's greenlet): COMMITs, and DDL,
#: which TiDB and MySQL commit implicitly. A retried function is never run again once it grew.
COMMITS: ContextVar[int] = ContextVar("tidb_dialect_commits", default=0)

#: Statements that commit the transaction they are sent in (TiDB's and MySQL's DDL).
IMPLICIT_COMMIT = re.compile(r"\s*(CREATE|ALTER|DROP|TRUNCATE|RENAME)\b", re.IGNORECASE)


class TransactionStatements:
    """BEGIN, COMMIT and ROLLBACK as statements peewee's logger shows (peewee sends them on a
    cursor of its own, unlogged); a COMMIT cut off before its reply raises AmbiguousCommitError."""

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        cursor = super().execute_sql(sql, params)  # type: ignore[misc]
        if IMPLICIT_COMMIT.match(sql) and self.in_transaction():  # type: ignore[attr-defined]
            COMMITS.set(COMMITS.get() + 1)
        return cursor

    def begin(self) -> None:
        self.execute_sql("BEGIN")

    def commit(self) -> None:
        self.refuse_closed("commit")
        try:
            self.execute_sql("COMMIT")
        except BaseException as exc:
            cut_off = commit_cut_off(exc)
            if cut_off is None:
                raise
            raise AmbiguousCommitError(cut_off) from exc
        COMMITS.set(COMMITS.get() + 1)

    def rollback(self) -> None:
        self.refuse_closed("rollback")
        try:
            self.execute_sql("ROLLBACK")
        except PeeweeException as exc:
            # peewee rolls back after a failed COMMIT; the connection went with COMMIT's reply.
            if ambiguous_behind(exc) is None:
                raise

    def refuse_closed(self, name: str) -> None:
        """peewee 4's check (peewee 3.17 would open a connection): never one on a new connection."""
        if self.is_closed():  # type: ignore[attr-defined]
            raise InterfaceError("Cannot %s, database connection not open." % name)


def retry_transaction(
    db: Database | DatabaseProxy,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff: Callable[[int], float] = exponential_backoff,
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorator: the function, whose ``with db.atomic():`` block is one transaction, runs again
    after an error TiDB marks safe to retry (the block has rolled back), at most `max_attempts`
    times, waiting `backoff(attempt)` seconds between; then ExceededMaxAttempts.

    Other errors propagate unchanged. Never run again once something committed in it (a
    COMMIT, or DDL); a COMMIT cut off before its reply raises AmbiguousCommitError.
    """
    whole_number("max_attempts", max_attempts, 1, MAX_ATTEMPTS)

    def decorate(function: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(function)
        def retried(*args: P.args, **kwargs: P.kwargs) -> T:
            database = db.obj if isinstance(db, DatabaseProxy) else db
            if database.in_transaction():
                raise DatabaseError(
                    "%s retries its own transaction; call it outside any atomic() block"
                    % function.__name__
                )
            wait = getattr(database, "pause", time.sleep)  # AsyncTiDBDatabase's lets its loop run
            for attempt in range(1, max_attempts + 1):
                commits = COMMITS.get()
                try:
                    return function(*args, **kwargs)
                except PeeweeException as exc:
                    last_error = retryable(exc, COMMITS.get() != commits)
                if attempt < max_attempts:
                    wait(pause(attempt, max_attempts, last_error, backoff))
            raise ExceededMaxAttempts(max_attempts, last_error)

        return retried

    return decorate


def run_transaction(
    db: DB,
    callback: Callable[[DB], T],
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff: Callable[[int], float] = exponential_backoff,
    mode: str | None = None,
) -> T:
    """``callback(db)`` in ``with db.atomic():``, retried as retry_transaction() does.

    `mode` ("optimistic" or "pessimistic") starts each attempt with TiDB's
    BEGIN OPTIMISTIC / BEGIN PESSIMISTIC; refused on other servers.
    """
    database = db.obj if isinstance(db, DatabaseProxy) else db
    begin_args = _begin_args(database, mode)

    @retry_transaction(database, max_attempts, backoff)
    def attempt() -> T:
        with database.atomic(**begin_args):
            return callback(db)

    return attempt()


def retryable(exc: PeeweeException, committed: bool) -> DatabaseError:
    """`exc`, an attempt's failure, if the attempt may run again; else what to raise is
    raised: the AmbiguousCommitError behind it, or `exc` itself."""
    ambiguous = ambiguous_behind(exc)
    if ambiguous is not None:
        raise ambiguous
    if committed or not isinstance(exc, DatabaseError) or not is_retryable(exc):
        raise exc
    return exc


def ambiguous_behind(exc: BaseException | None) -> AmbiguousCommitError | None:
    """The AmbiguousCommitError that `exc` was raised while handling (or `exc`), if any."""
    while exc is not None and not isinstance(exc, AmbiguousCommitError):
        exc = exc.__context__
    return exc


def pause(
    attempt: int, max_attempts: int, error: BaseException, backoff: Callable[[int], float]
) -> float:
    """Seconds to wait before the next attempt, the rolled-back one logged."""
    logger.info(
        "transaction attempt %d of %d rolled back, retrying: %s", attempt, max_attempts, error
    )
    return backoff(attempt)


def _begin_args(db: Database, mode: str | None) -> dict[str, str]:
    # SQLite has no locking reads; taking the write lock at BEGIN serialises
    # writers before they read, as SELECT ... FOR UPDATE does on TiDB.
    if mode is not None:  # checked before the first attempt sends anything
        detect = getattr(db, "detect_server_version", None)
        begin_statement(mode, detect() if detect else None)
        return {"mode": mode}  # TiDBDatabase.begin(mode=...)
    return {"lock_type": "IMMEDIATE"} if isinstance(db, SqliteDatabase) else {}
