"""Errors the dialect raises itself."""

from peewee import OperationalError


class ConfigError(ValueError):
    """A connection setting is wrong: "keyword: problem".

    ``keyword`` names the keyword argument or URL part (``port``, ``ssl_ca``),
    so an application can say it in the words its user typed.
    """

    def __init__(self, message, keyword=None):
        super().__init__(message)
        self.keyword = keyword

    @classmethod
    def of(cls, keyword, problem):
        return cls("%s: %s" % (keyword, problem), keyword)

    @property
    def problem(self):
        """The message without its leading "keyword: "."""
        text = str(self)
        prefix = "%s: " % self.keyword
        return text[len(prefix) :] if self.keyword and text.startswith(prefix) else text


class ExceededMaxAttempts(OperationalError):
    """run_transaction() gave up; ``last_error`` is the error of the final attempt."""

    def __init__(self, attempts, last_error):
        super().__init__("transaction failed after %d attempts: %s" % (attempts, last_error))
        self.attempts = attempts
        self.last_error = last_error


class AmbiguousCommitError(OperationalError):
    """The connection was lost (or Ctrl-C came) after COMMIT was sent: the transaction may
    or may not have committed (CockroachDB calls this an ambiguous result). Never retried;
    ``cause`` is the driver's error, or the KeyboardInterrupt."""

    def __init__(self, cause):
        super().__init__("the outcome of COMMIT is unknown: %s" % (cause,))
        self.cause = cause
