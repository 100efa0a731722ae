"""What every section needs: repetitions and medians, the server's statement counter, silence."""

import contextlib
import os
import time

#: A figure whose first run takes longer than this is run once: its noise is small
#: next to its length, and repeating it would blow the run's time budget.
LONG_RUN_SECONDS = 2.5


def repeat(run, times):
    """Call run() up to `times` times; it returns a dict with "seconds"."""
    results = [run()]
    if results[0]["seconds"] <= LONG_RUN_SECONDS:
        results += [run() for _ in range(times - 1)]
    return results


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def questions(db):
    """The server's count of statements from this connection, or None (TiDB has no such counter)."""
    row = db.execute_sql("SHOW SESSION STATUS LIKE 'Questions'").fetchone()
    return int(row[1]) if row else None


def counted(db, action):
    """(seconds, result, statements): `action` timed, and its statements as the server counts them.

    The counter is read on the connection `action` uses (peewee keeps one per
    thread); the SHOW that reads it afterwards counts itself, so it is taken off.
    """
    before = questions(db)
    seconds, result = timed(action)
    after = questions(db)
    statements = None if before is None else after - before - 1
    return seconds, result, statements


@contextlib.contextmanager
def quiet():
    """trade() and the walkthrough print for a person; the bench keeps its stdout for the table."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield
