"""The errors the dialect raises, and the server's error codes it acts on."""

from __future__ import annotations

from typing import TypeVar

from peewee import DatabaseError, OperationalError

E = TypeVar("E", bound="ConfigError")

#: Errors after which the whole transaction may run again (TiDB's IsTxnRetryableError, its docs).
#: Not 1205 (lock wait timeout): retrying multiplies an innodb_lock_wait_timeout (50 s) stall.
RETRYABLE_ERRORS = {
    8002: "SELECT FOR UPDATE conflict (optimistic mode)",
    8005: "write conflict in TiDB",
    8022: "KV error safe to retry",
    8028: "schema changed during the transaction",
    9007: "write conflict",
    1213: "deadlock",
}
#: SQLite's primary result codes (extended codes' low byte) for "another connection holds the lock".
SQLITE_RETRYABLE = {5: "database is locked (busy)", 6: "a table is locked"}
#: Client errors for a connection lost while waiting for the server's reply.
CONNECTION_LOST = {2006: "server has gone away", 2013: "lost connection", 2055: "lost connection"}


def error_code(exc: BaseException) -> int | None:
    """The server's error number behind a peewee or driver exception, or None."""
    args = getattr(getattr(exc, "orig", exc), "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def is_retryable(exc: BaseException) -> bool:
    """By the error's number, never its text: a message can quote the user's data. SQLite's
    code comes with Python 3.11+; before, a busy SQLite is not retried."""
    sqlite_code = getattr(getattr(exc, "orig", exc), "sqlite_errorcode", 0)
    return error_code(exc) in RETRYABLE_ERRORS or sqlite_code & 0xFF in SQLITE_RETRYABLE


class ConfigError(ValueError):
    """A setting is wrong: "keyword: problem"; ``keyword`` is the argument or URL part as typed."""

    def __init__(self, message: str, keyword: str | None = None) -> None:
        super().__init__(message)
        self.keyword = keyword

    @classmethod
    def of(cls: type[E], keyword: str, problem: str) -> E:
        return cls("%s: %s" % (keyword, problem), keyword)

    @property
    def problem(self) -> str:
        """The message without its leading "keyword: "."""
        return str(self).removeprefix("%s: " % self.keyword) if self.keyword else str(self)


class SettingError(ConfigError):
    """A setting (environment, .env, flag) is wrong, named as typed; never shows a password."""


class ExceededMaxAttempts(OperationalError):
    """run_transaction() gave up; ``last_error`` is the error of the final attempt."""

    def __init__(self, attempts: int, last_error: DatabaseError) -> None:
        super().__init__("transaction failed after %d attempts: %s" % (attempts, last_error))
        self.attempts, self.last_error = attempts, last_error


class AmbiguousCommitError(OperationalError):
    """COMMIT (or a write outside a transaction) was sent, then the connection was lost or Ctrl-C
    came: it may have taken effect. ``statement`` is the first word of what was sent."""

    def __init__(self, cause: BaseException, statement: str = "COMMIT") -> None:
        super().__init__("the outcome of %s is unknown: %s" % (statement, cause))
        self.cause, self.statement = cause, statement
