"""Errors the dialect raises itself."""

from __future__ import annotations

from typing import TypeVar

from peewee import DatabaseError, OperationalError

E = TypeVar("E", bound="ConfigError")


class ConfigError(ValueError):
    """A connection setting is wrong: "keyword: problem".

    ``keyword`` names the keyword argument or URL part (``port``, ``ssl_ca``),
    so an application can say it in the words its user typed.
    """

    def __init__(self, message: str, keyword: str | None = None) -> None:
        super().__init__(message)
        self.keyword = keyword

    @classmethod
    def of(cls: type[E], keyword: str, problem: str) -> E:
        return cls("%s: %s" % (keyword, problem), keyword)

    @property
    def problem(self) -> str:
        """The message without its leading "keyword: "."""
        text = str(self)
        prefix = "%s: " % self.keyword
        return text[len(prefix) :] if self.keyword and text.startswith(prefix) else text


class SettingError(ConfigError):
    """A setting from the environment, .env or a command-line flag is wrong.

    The message starts with the setting as the user typed it (a variable's
    name, a flag, the .env file), which ``keyword`` holds, and never shows a
    password.
    """


class ExceededMaxAttempts(OperationalError):
    """run_transaction() gave up; ``last_error`` is the error of the final attempt."""

    def __init__(self, attempts: int, last_error: DatabaseError) -> None:
        super().__init__("transaction failed after %d attempts: %s" % (attempts, last_error))
        self.attempts = attempts
        self.last_error = last_error


class AmbiguousCommitError(OperationalError):
    """The connection was lost (or Ctrl-C came) after COMMIT, or a write outside a
    transaction (its own commit), was sent: it may or may not have taken effect (CockroachDB
    calls this an ambiguous result). Never retried; ``cause`` is the driver's error, or the
    KeyboardInterrupt; ``statement`` the first word of what was sent."""

    def __init__(self, cause: BaseException, statement: str = "COMMIT") -> None:
        super().__init__("the outcome of %s is unknown: %s" % (statement, cause))
        self.cause = cause
        self.statement = statement
