"""run_transaction on SQLite: a write after a stale read fails with an extended busy code, and the
callback runs again on fresh data.

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


def test_a_write_on_a_stale_snapshot_is_retried_on_fresh_data(tmp_path):
    """The callback reads, another connection commits, and the callback's write then fails with
    SQLITE_BUSY_SNAPSHOT: run again, it adds to the other's update instead of overwriting it."""
    path = str(tmp_path / "bank.db")
    setup = SqliteDatabase(path, pragmas={"journal_mode": "wal"})
    setup.execute_sql("CREATE TABLE account (id INT PRIMARY KEY, balance INT NOT NULL)")
    setup.execute_sql("INSERT INTO account VALUES (1, 100)")
    db, writer = SqliteDatabase(path, timeout=0), SqliteDatabase(path)
    codes = []

    def callback(db):
        balance = db.execute_sql("SELECT balance FROM account").fetchone()[0]  # the snapshot
        if not codes:
            writer.execute_sql("UPDATE account SET balance = balance + 1")
        try:
            db.execute_sql("UPDATE account SET balance = ?", (balance + 10,))
        except OperationalError as exc:
            codes.append(getattr(exc.orig, "sqlite_errorcode", None))
            raise

    if HAS_CODES:
        run_transaction(db, callback, backoff=lambda attempt: 0)
    else:
        with pytest.raises(OperationalError):
            run_transaction(db, callback, backoff=lambda attempt: 0)
    assert codes == ([BUSY_SNAPSHOT] if HAS_CODES else [None])
    balance = setup.execute_sql("SELECT balance FROM account").fetchone()[0]
    assert balance == (111 if HAS_CODES else 101)
    for database in (setup, db, writer):
        database.close()
