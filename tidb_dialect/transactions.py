"""Retrying transactions the way the TiDB docs ask: roll back, back off, run again."""

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

from .errors import (
    CONNECTION_LOST,
    AmbiguousCommitError,
    ConfigError,
    ExceededMaxAttempts,
    error_code,
    is_retryable,
)
from .keywords import whole_number

if TYPE_CHECKING:
    from peewee import Database

    from .version import ServerVersion

logger = logging.getLogger(__name__)


def unproxied(db: Any) -> Any:
    """The database behind `db`: a DatabaseProxy's obj, any other database itself."""
    return db.obj if isinstance(db, DatabaseProxy) else db


T = TypeVar("T")
P = ParamSpec("P")
DB = TypeVar("DB", bound="Database | DatabaseProxy")

DEFAULT_MAX_ATTEMPTS = 10
MAX_ATTEMPTS = 10**6  # the most max_attempts may ask for

#: TiDB's transaction modes -> the statement that starts one transaction in that mode,
#: whatever tidb_txn_mode says (pingcap/docs optimistic-transaction.md, pessimistic-transaction.md).
TRANSACTION_MODES = {"optimistic": "BEGIN OPTIMISTIC", "pessimistic": "BEGIN PESSIMISTIC"}


def begin_statement(mode: str, version: ServerVersion | None) -> str:
    """The BEGIN for `mode` on the server `version` describes (None: not a TiDBDatabase); only
    TiDB has modes, so elsewhere it is refused rather than run in another mode."""
    if mode not in TRANSACTION_MODES:
        raise ConfigError.of("mode", "must be 'optimistic' or 'pessimistic', got %r" % (mode,))
    if version is None or not version.is_tidb:
        raise NotSupportedError(
            "mode=%r: transaction modes (BEGIN OPTIMISTIC, BEGIN PESSIMISTIC) are TiDB's, but "
            "this is %s; leave mode out there" % (mode, version or "not a TiDBDatabase")
        )
    return TRANSACTION_MODES[mode]


def exponential_backoff(attempt: int) -> float:
    """Seconds to wait before attempt `attempt + 1`: the TiDB docs' formula."""
    return ((1.5**attempt) + random.random()) * 0.1


#: Transactions committed in this thread (or asyncio task's greenlet): COMMITs, and DDL, which
#: commits implicitly. A retried function is never run again once it grew.
COMMITS: ContextVar[int] = ContextVar("tidb_dialect_commits", default=0)
IMPLICIT_COMMIT = re.compile(r"\s*(CREATE|ALTER|DROP|TRUNCATE|RENAME)\b", re.IGNORECASE)


class TransactionStatements:
    """BEGIN, COMMIT and ROLLBACK as statements peewee's logger shows (peewee sends them on a
    cursor of its own, unlogged); a COMMIT cut off before its reply raises AmbiguousCommitError."""

    def execute_sql(self, sql: str, params: Any = None) -> Any:
        cursor = super().execute_sql(sql, params)  # type: ignore[misc]
        if IMPLICIT_COMMIT.match(sql) and self.in_transaction():  # type: ignore[attr-defined]
            COMMITS.set(COMMITS.get() + 1)
        return cursor

    def begin(self, isolation_level: str | None = None) -> None:
        """As MySQLDatabase.begin(): ``atomic(isolation_level="READ COMMITTED")`` sets it first."""
        if isolation_level:
            self.execute_sql("SET TRANSACTION ISOLATION LEVEL %s" % isolation_level)
        self.execute_sql("BEGIN")

    def commit(self) -> None:
        self.refuse_closed("commit")
        try:
            self.execute_sql("COMMIT")
        except BaseException as exc:
            # The deepest lost connection (or Ctrl-C) is COMMIT's own: peewee's ROLLBACK after
            # it fails too on a dead connection. None of them: the server answered.
            cause: BaseException | None = None
            error: BaseException | None = exc
            while error is not None:
                if isinstance(error, KeyboardInterrupt) or error_code(error) in CONNECTION_LOST:
                    cause = error
                error = error.__context__
            if cause is None:
                raise
            raise AmbiguousCommitError(cause) from exc
        COMMITS.set(COMMITS.get() + 1)

    def rollback(self) -> None:
        self.refuse_closed("rollback")
        try:
            self.execute_sql("ROLLBACK")
        except PeeweeException as exc:
            # peewee rolls back after a failed COMMIT; the connection went with COMMIT's reply.
            if ambiguous_behind(exc) is None:
                raise

    def refuse_closed(self, name: str) -> None:  # peewee 4's check; 3.17 would connect
        if self.is_closed():  # type: ignore[attr-defined]
            raise InterfaceError("Cannot %s, database connection not open." % name)


def retry_transaction(
    db: Database | DatabaseProxy,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff: Callable[[int], float] = exponential_backoff,
) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Decorator: the function, whose ``with db.atomic():`` block is one transaction, runs again
    after an error TiDB marks safe to retry, at most `max_attempts` times, `backoff(attempt)`
    seconds apart; then ExceededMaxAttempts. Never again once something committed in it (COMMIT,
    DDL); a COMMIT cut off before its reply raises AmbiguousCommitError."""
    whole_number("max_attempts", max_attempts, 1, MAX_ATTEMPTS)

    def decorate(function: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(function)
        def retried(*args: P.args, **kwargs: P.kwargs) -> T:
            database = unproxied(db)
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
                    message = "transaction attempt %d of %d rolled back, retrying: %s"
                    logger.info(message, attempt, max_attempts, last_error)
                    wait(backoff(attempt))
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
    """``callback(db)`` in ``with db.atomic():``, retried as retry_transaction() does; `mode`
    ("optimistic", "pessimistic") begins each attempt in that TiDB mode."""
    database = unproxied(db)
    begin_args: dict[str, str] = {}
    if mode is not None:  # checked before the first attempt sends anything
        detect = getattr(database, "detect_server_version", None)
        begin_statement(mode, detect() if detect else None)
        begin_args = {"mode": mode}  # TiDBDatabase.begin(mode=...)
    elif isinstance(database, SqliteDatabase):
        # SQLite has no locking reads; taking the write lock at BEGIN serialises
        # writers before they read, as SELECT ... FOR UPDATE does on TiDB.
        begin_args = {"lock_type": "IMMEDIATE"}

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
