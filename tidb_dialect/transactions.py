"""Retrying transactions the way the TiDB docs ask: roll back, back off, run again.

TiDB reports conflicts between concurrent transactions as errors that are
safe to retry: the whole transaction is rolled back before the next attempt,
so nothing of a failed attempt survives.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from peewee import DatabaseError, DatabaseProxy, NotSupportedError, PeeweeException, SqliteDatabase

from .checks import whole_number
from .errors import AmbiguousCommitError, ConfigError, ExceededMaxAttempts

if TYPE_CHECKING:
    from peewee import Database, ModelSelect

    from .version import ServerVersion

logger = logging.getLogger(__name__)

T = TypeVar("T")
DB = TypeVar("DB", bound="Database | DatabaseProxy")
Query = TypeVar("Query", bound="ModelSelect[Any]")

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


def run_transaction(
    db: DB,
    callback: Callable[[DB], T],
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    backoff: Callable[[int], float] = exponential_backoff,
    mode: str | None = None,
) -> T:
    """Run ``callback(db)`` in a transaction, retrying it on retryable errors.

    `mode` ("optimistic" or "pessimistic") starts each attempt with TiDB's
    BEGIN OPTIMISTIC / BEGIN PESSIMISTIC; refused on other servers.

    The callback must not commit or roll back, and may run more than once.
    Other errors propagate unchanged; when every attempt failed,
    ExceededMaxAttempts carries the last error. A connection lost at COMMIT,
    or Ctrl-C while it is under way, raises AmbiguousCommitError: the
    transaction may have committed, so it is not run again.
    """
    refuse_to_start(db, max_attempts, "run_transaction()")
    # A proxy's atomic() block would go through the proxy at every step: the database's does not.
    database = db.obj if isinstance(db, DatabaseProxy) else db
    begin_args = _begin_args(database, mode)
    last_error = None
    for attempt in range(1, max_attempts + 1):
        committing = False
        try:
            with database.atomic(**begin_args):
                result = callback(db)
                committing = True  # the block's end sends COMMIT
            return result
        except (KeyboardInterrupt, PeeweeException) as exc:
            last_error = retryable(exc, committing)
        if attempt < max_attempts:
            time.sleep(pause(attempt, max_attempts, last_error, backoff))
    assert last_error is not None  # only an attempt that failed retryably gets here
    raise ExceededMaxAttempts(max_attempts, last_error)


def refuse_to_start(db: Database | DatabaseProxy, max_attempts: object, name: str) -> None:
    """What run_transaction() and arun_transaction() refuse before they send anything."""
    whole_number("max_attempts", max_attempts, 1, MAX_ATTEMPTS)
    if db.in_transaction():
        raise DatabaseError(
            "%s opens its own transaction; call it outside any atomic() block" % name
        )


def retryable(exc: BaseException, committing: bool) -> DatabaseError:
    """`exc`, an attempt's failure, if the transaction may run again; else what to raise
    is raised: AmbiguousCommitError for a COMMIT cut off before its reply, or `exc`."""
    cut_off = commit_cut_off(exc) if committing else None
    if cut_off is not None:
        raise AmbiguousCommitError(cut_off) from exc
    if not isinstance(exc, DatabaseError) or not is_retryable(exc):
        raise exc
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


def locking_read(query: Query) -> Query:
    """`query` as a locking read (SELECT ... FOR UPDATE) where the database has one.

    Outside a transaction the lock would end with the statement, so it is refused.
    """
    database = query.model._meta.database
    if not database.in_transaction():
        raise DatabaseError(
            "locking_read() outside a transaction locks nothing; "
            "call it inside atomic() or run_transaction()"
        )
    return query.for_update() if database.for_update else query
