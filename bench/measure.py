"""What every section needs: a clock, the server's statement counter, the relay's count, silence."""

import contextlib
import os
import time


def timed(action):
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def questions(db):
    """The server's count of statements from this connection, or None (TiDB has no such counter)."""
    row = db.execute_sql("SHOW SESSION STATUS LIKE 'Questions'").fetchone()
    return int(row[1]) if row else None


def on_the_wire(relay, action):
    """(seconds, result, round trips): `action` timed, and the round trips the relay saw it make."""
    relay.reset()
    seconds, result = timed(action)
    return seconds, result, relay.round_trips


@contextlib.contextmanager
def quiet():
    """trade() and the walkthrough print for a person; the bench keeps its stdout for the table."""
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield
