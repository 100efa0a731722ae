"""Silence: the lesson's trade prints for a person; the bench keeps its stdout for the table."""

import contextlib
import os


@contextlib.contextmanager
def quiet():
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        yield
