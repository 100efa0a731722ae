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

from peewee import DatabaseError, DatabaseProxy, InterfaceError, NotSupportedError, PeeweeException

from .errors import (
    CONNECTION_LOST,
    AmbiguousCommitError,
    ConfigError,
    ExceededMaxAttempts,
    error_code,
    is_retryable,
)
from .keywords import whole_number
from .version import ServerVersion

if TYPE_CHECKING:
    from peewee import Database

logger = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")
DB = TypeVar("DB", bound="Database | DatabaseProxy")

DEFAULT_MAX_ATTEMPTS = 10

#: TiDB's transaction modes -> the statement that starts one transaction in that mode,
#: whatever tidb_txn_mode says (pingcap/docs optimistic-transaction.md, pessimistic-transaction.md).
TRANSACTION_MODES = {"optimistic": "BEGIN OPTIMISTIC", "pessimistic": "BEGIN PESSIMISTIC"}

#: COMMITs in this thread (or asyncio task's greenlet) that took effect or may have (the reply
#: lost), and DDL, which commits implicitly. A retried function is never run again once it grew.
COMMITS: ContextVar[int] = ContextVar("tidb_dialect_commits", default=0)
IMPLICIT_COMMIT = re.compile(r"\s*(CREATE|ALTER|DROP|TRUNCATE|RENAME)\b", re.IGNORECASE)


def unproxied(db: Any) -> Any:
    """The database behind `db`: a DatabaseProxy's obj, any other database itself."""
    return db.obj if isinstance(db, DatabaseProxy) else db


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


def contexts(exc: BaseException | None) -> list[BaseException]:
    """`exc` and the exceptions it was raised while handling, the deepest last."""
    return [] if exc is None else [exc, *contexts(exc.__context__)]


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
            lost = [
                error
                for error in contexts(exc)
                if isinstance(error, KeyboardInterrupt) or error_code(error) in CONNECTION_LOST
            ]
            if not lost:  # the server answered: nothing committed
                raise
            COMMITS.set(COMMITS.get() + 1)
            raise AmbiguousCommitError(lost[-1]) from exc  # the deepest is COMMIT's own
        COMMITS.set(COMMITS.get() + 1)

    def rollback(self) -> None:
        try:
            self.refuse_closed("rollback")
            self.execute_sql("ROLLBACK")
        except PeeweeException as exc:
            # peewee rolls back after a failed COMMIT, whose connection is dead (or closed).
            if not any(isinstance(error, AmbiguousCommitError) for error in contexts(exc)):
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
    `backoff(attempt)` seconds after an error in RETRYABLE_ERRORS, unless something committed."""
    whole_number("max_attempts", max_attempts, 1, 10**6)

    def decorate(function: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(function)
        def retried(*args: P.args, **kwargs: P.kwargs) -> T:
            database = unproxied(db)
            if database.in_transaction():
                message = "%s retries its own transaction; call it outside any atomic() block"
                raise DatabaseError(message % function.__name__)
            wait = getattr(database, "pause", time.sleep)  # AsyncTiDBDatabase's lets its loop run
            for attempt in range(1, max_attempts + 1):
                commits = COMMITS.get()
                try:
                    return function(*args, **kwargs)
                except DatabaseError as exc:
                    if COMMITS.get() != commits or not is_retryable(exc):
                        raise
                    last_error = exc
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
    if mode is not None and not hasattr(database, "detect_server_version"):
        begin_statement(mode, None)  # refused: not a TiDBDatabase, whose begin() takes mode=
    begin_args = {} if mode is None else {"mode": mode}

    @retry_transaction(database, max_attempts, backoff)
    def attempt() -> T:
        with database.atomic(**begin_args):
            return callback(db)

    return attempt()
