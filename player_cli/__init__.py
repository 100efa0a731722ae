"""The command line around the lesson (peewee_example.py).

The lesson is the TiDB walkthrough itself; this package adds what a program
needs around it: flags, the embedded SQLite fallback, one line on standard
error saying where the run went, checks of the player table before anything
is emptied, one walkthrough per database at a time, and a one-line message
with an exit status for every failure and for Ctrl-C at any moment.

    python3 peewee_example.py --help
"""

from .command import main, run

__all__ = ["main", "run"]
