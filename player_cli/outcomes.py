"""Every way a run can end, as one line on standard error and an exit status.

A failure's message says what became of the data. The lesson's steps that
change data in one transaction are found on the failure's traceback, so the
lesson itself needs no error handling beyond its transactions.
"""

from __future__ import annotations

import inspect
import os
import signal
import sys
from types import FrameType
from typing import Any, NoReturn, TypeVar

from peewee import PeeweeException

import peewee_example as lesson
from tidb_dialect import AmbiguousCommitError, SettingError

from .table import AnotherRun, TableMismatch, UnexpectedData

#: Exit statuses (also in --help and docs/command-line.md).
EXIT_STATUSES = """exit status:
  0    done (the walkthrough ran; --trade: the trade happened)
  1    the database failed or refused, or holds what the model does not expect
  2    a wrong argument or setting
  3    --trade: the trade was refused (not enough coins or goods); nothing changed
  4    --trade: no player has that id; nothing changed
  5    the connection was lost at COMMIT: the change may or may not have happened
  130  interrupted (Ctrl-C); the message says what became of the data
  141  standard output was closed (`| head`): the run stopped there, quietly"""
USAGE, REFUSED, UNKNOWN_PLAYER, OUTCOME_UNKNOWN, INTERRUPTED, CLOSED_OUTPUT = 2, 3, 4, 5, 130, 141

OUTSIDE = ("the run", "what was committed so far stays", "look at the table")

E = TypeVar("E", bound=BaseException)


class CannotConnect(Exception):
    """The server could not be reached or refused the login; the message says where."""


class Interrupted(Exception):
    """Ctrl-C at a moment that is not a step's; the message says what became of the data."""


def report(exc: BaseException) -> int:
    """Print the one line that says how the run ended with `exc`; return the exit status."""
    if isinstance(exc, BrokenPipeError):
        raise exc  # standard output is closed: stop quietly (run())
    what, outcome, check = step_of(exc)
    if isinstance(exc, AmbiguousCommitError):
        if isinstance(exc.cause, KeyboardInterrupt):
            when, status = "interrupted (Ctrl-C) at COMMIT", INTERRUPTED
        else:
            when = "the connection was lost at COMMIT (%s)" % server_error(exc.cause)
            status = OUTCOME_UNKNOWN
        return fail(
            "%s, so %s may or may not have happened: %s before trying again" % (when, what, check),
            status,
        )
    if isinstance(exc, Interrupted):
        return fail("interrupted (Ctrl-C) %s" % exc, INTERRUPTED)
    if behind(exc, KeyboardInterrupt):
        if (what, outcome, check) == OUTSIDE:
            return fail("interrupted (Ctrl-C) outside the transactions: %s" % outcome, INTERRUPTED)
        return fail("interrupted (Ctrl-C): %s" % outcome, INTERRUPTED)
    if isinstance(exc, (SettingError, ValueError)):
        return fail(exc, USAGE)
    if isinstance(exc, lesson.UnknownPlayer):
        return fail("%s; nothing was changed" % exc, UNKNOWN_PLAYER)
    if isinstance(exc, (CannotConnect, TableMismatch, AnotherRun, UnexpectedData)):
        return fail(exc, 1)
    if isinstance(exc, PeeweeException):
        return fail("the database failed: %s; %s" % (server_error(first_error(exc)), outcome), 1)
    raise exc


def step_of(exc: BaseException) -> tuple[str, str, str]:
    """The innermost of the lesson's steps that change data in one transaction that `exc`
    came out of, else OUTSIDE: what a failure inside it leaves, and, when the COMMIT's reply
    is lost, what to look at before trying again."""
    steps = {
        inspect.unwrap(lesson.start_afresh).__code__: (
            "the reset and reload",
            "the player table is as it was before the run",
            "count the players",
        ),
        inspect.unwrap(lesson.trade).__code__: (
            "the trade",
            "the trade did not happen",
            "look at both players",
        ),
    }
    found, tb = OUTSIDE, exc.__traceback__
    while tb is not None:
        found = steps.get(tb.tb_frame.f_code, found)
        tb = tb.tb_next
    return found


def behind(exc: BaseException | None, kind: type[E]) -> E | None:
    """The exception of `kind` that started `exc` (or is `exc`), or None.

    PyMySQL closes the connection when interrupted, so the ROLLBACK that
    follows fails, and its error hides the KeyboardInterrupt behind it.
    """
    while exc is not None:
        if isinstance(exc, kind):
            return exc
        exc = exc.__context__
    return None


def first_error(exc: BaseException) -> BaseException:
    """The database error that started `exc`: a ROLLBACK on a lost connection fails too,
    and its error would hide the one that matters."""
    first = exc
    while exc.__context__ is not None:
        exc = exc.__context__
        if isinstance(exc, PeeweeException):
            first = exc
    return first


def server_error(exc: BaseException) -> str:
    """`exc` as (code, 'message'): the server's words only, never the driver's own text,
    which can quote the arguments it was given (the password among them)."""
    if len(exc.args) == 2 and isinstance(exc.args[0], int) and isinstance(exc.args[1], str):
        return str(exc.args)
    return "%s (the driver's message is not shown)" % type(exc).__name__


def fail(message: object, status: int) -> int:
    print("error: %s" % message, file=sys.stderr)
    return status


def finishing() -> Any:
    """From here on (closing, flushing, the interpreter's exit) Ctrl-C cannot raise where
    nothing would catch it: it ends the run at once, with one line. Returns the handler before."""
    return signal.signal(signal.SIGINT, interrupted_while_finishing)


def interrupted_while_finishing(signum: int, frame: FrameType | None) -> NoReturn:
    os.write(2, b"error: interrupted (Ctrl-C) while finishing: the run itself was over\n")
    os._exit(INTERRUPTED)
