"""run_transaction on SQLite: a busy result is retried by its code, extended codes included.

(Beside tests/test_transactions.py's busy test, which meets SQLite's primary code 5 only.)
"""

import sys

import pytest
from peewee import OperationalError, SqliteDatabase

from tidb_dialect import run_transaction

#: SQLITE_BUSY_SNAPSHOT: SQLITE_BUSY (5) | 2 << 8, a WAL reader whose snapshot went stale.
BUSY_SNAPSHOT = 517
#: The code reaches Python from 3.11 (sqlite_errorcode); before that nothing is retried.
HAS_CODES = sys.version_info >= (3, 11)


def test_sqlite_extended_busy_code_is_retried(tmp_path):
    """The callback's deferred transaction reads, another connection commits, and the
    callback's write then fails with SQLITE_BUSY_SNAPSHOT: retried, it succeeds."""
    path = str(tmp_path / "bank.db")
    setup = SqliteDatabase(path, pragmas={"journal_mode": "wal"})
    setup.execute_sql("CREATE TABLE account (id INT PRIMARY KEY, balance INT NOT NULL)")
    setup.execute_sql("INSERT INTO account VALUES (1, 100)")
    reader, writer = SqliteDatabase(path, timeout=0), SqliteDatabase(path)
    codes = []

    def callback(db):
        with reader.atomic():  # deferred: its snapshot is taken by the first read
            reader.execute_sql("SELECT balance FROM account").fetchone()
            if not codes:
                writer.execute_sql("UPDATE account SET balance = balance + 1")
            try:
                reader.execute_sql("UPDATE account SET balance = balance + 10")
            except OperationalError as exc:
                codes.append(getattr(exc.orig, "sqlite_errorcode", None))
                raise

    own = SqliteDatabase(str(tmp_path / "own.db"))  # run_transaction's own database
    if HAS_CODES:
        run_transaction(own, callback, backoff=lambda attempt: 0)
    else:
        with pytest.raises(OperationalError):
            run_transaction(own, callback, backoff=lambda attempt: 0)
    assert codes == ([BUSY_SNAPSHOT] if HAS_CODES else [None])
    balance = setup.execute_sql("SELECT balance FROM account").fetchone()[0]
    assert balance == (111 if HAS_CODES else 101)
    for db in (setup, reader, writer, own):
        db.close()
