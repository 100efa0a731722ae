"""trade() under load: many threads, each on its own connection, trading among a few hot rows.

The sample this replaces read balances with plain SELECTs and then wrote:
concurrent trades overdrew players. Here every invariant is checked after
thousands of random trades: no negative balance, totals kept, and the
server's own ledger (a trigger) agrees with the trades reported as done.
On MariaDB a second trigger makes some UPDATEs fail with TiDB's retryable
errors, so run_transaction() must retry them without a trade failing.
"""

import logging
import random
import threading
import time
from collections import Counter

import pytest
from peewee import SqliteDatabase

from peewee_example import Player, trade

# The ledger and the injected conflicts are triggers, which TiDB lacks.
pytestmark = pytest.mark.mariadb

START = {"p1": (100, 10), "p2": (100, 10), "p3": (100, 10), "p4": (100, 10)}
TRADES = 3200  # per run, shared out among the threads
FAULT_EVERY = 40  # on MariaDB, every 40th UPDATE fails with 1213 or 9007

LEDGER = {
    "mysql": [
        "CREATE TABLE ledger (n INT AUTO_INCREMENT PRIMARY KEY, player_id VARCHAR(36) NOT NULL, "
        "coins INT NOT NULL, goods INT NOT NULL)",
        "CREATE TRIGGER ledger_entry AFTER UPDATE ON player FOR EACH ROW "
        "INSERT INTO ledger (player_id, coins, goods) "
        "VALUES (NEW.id, NEW.coins - OLD.coins, NEW.goods - OLD.goods)",
    ],
    "sqlite": [
        "CREATE TABLE ledger (n INTEGER PRIMARY KEY, player_id TEXT NOT NULL, "
        "coins INTEGER NOT NULL, goods INTEGER NOT NULL)",
        "CREATE TRIGGER ledger_entry AFTER UPDATE ON player BEGIN "
        "INSERT INTO ledger (player_id, coins, goods) "
        "VALUES (NEW.id, NEW.coins - OLD.coins, NEW.goods - OLD.goods); END",
    ],
}

# A MEMORY table is not transactional: its counters survive the rollbacks they cause.
FAULTS = [
    "CREATE TABLE fault_plan (updates INT NOT NULL, fired INT NOT NULL) ENGINE=MEMORY",
    "INSERT INTO fault_plan VALUES (0, 0)",
    """CREATE TRIGGER inject_conflict BEFORE UPDATE ON player FOR EACH ROW BEGIN
         UPDATE fault_plan SET updates = updates + 1;
         IF MOD((SELECT updates FROM fault_plan), %(every)d) = 0 THEN
           UPDATE fault_plan SET fired = fired + 1;
           IF MOD((SELECT fired FROM fault_plan), 2) = 0 THEN
             SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 1213,
               MESSAGE_TEXT = 'Deadlock found when trying to get lock; try restarting transaction';
           ELSE
             SIGNAL SQLSTATE '40001' SET MYSQL_ERRNO = 9007,
               MESSAGE_TEXT = 'Write conflict, txnStartTS=1, conflictStartTS=2, key=injected';
           END IF;
         END IF;
       END"""
    % {"every": FAULT_EVERY},
]


@pytest.fixture
def hot_rows(player_db):
    backend = "sqlite" if isinstance(player_db, SqliteDatabase) else "mysql"
    for statement in LEDGER[backend] + (FAULTS if backend == "mysql" else []):
        player_db.execute_sql(statement)
    Player.insert_many(
        [{"id": pid, "coins": c, "goods": g} for pid, (c, g) in START.items()]
    ).execute()
    player_db.close()
    return player_db


def trade_from_threads(database, threads, trades_per_thread, seed):
    """Random trades among START's players; returns the trades done and refused, and errors."""
    done, refused, errors = [], [], []
    barrier = threading.Barrier(threads)

    def worker(index):
        rng = random.Random(seed * 1000 + index)
        try:
            barrier.wait()
            for _ in range(trades_per_thread):
                seller, buyer = rng.sample(sorted(START), 2)
                args = (seller, buyer, rng.randint(1, 4), rng.randint(1, 60))
                (done if trade(*args) == "trade success" else refused).append(args)
        except Exception as exc:  # any exception at all is a failed trade
            errors.append(exc)
        finally:
            database.close()  # this thread's own connection

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return done, refused, errors


def expected_balances(done):
    balances = {pid: list(start) for pid, start in START.items()}
    for seller, buyer, amount, price in done:
        balances[seller][0] += price
        balances[seller][1] -= amount
        balances[buyer][0] -= price
        balances[buyer][1] += amount
    return {pid: tuple(b) for pid, b in balances.items()}


@pytest.mark.parametrize("threads", [8, 32])
def test_trades_keep_every_invariant(hot_rows, threads, caplog, capsys, seed):
    database = hot_rows
    backend = "sqlite" if isinstance(database, SqliteDatabase) else "mysql"
    started = time.monotonic()
    with caplog.at_level(logging.INFO, logger="tidb_dialect.transactions"):
        done, refused, errors = trade_from_threads(database, threads, TRADES // threads, seed)
    seconds = time.monotonic() - started
    retries = [r for r in caplog.records if r.name == "tidb_dialect.transactions"]

    assert errors == [], "trades failed: %r" % errors[:3]
    assert len(done) + len(refused) == TRADES
    assert done and refused, "the run must both refuse and make trades"

    balances = {p.id: (p.coins, p.goods) for p in Player.select()}
    assert all(coins >= 0 and goods >= 0 for coins, goods in balances.values())
    assert sum(c for c, _ in balances.values()) == sum(c for c, _ in START.values())
    assert sum(g for _, g in balances.values()) == sum(g for _, g in START.values())
    # Each trade reported as done is in the data, and nothing else is.
    assert balances == expected_balances(done)
    ledger = database.execute_sql("SELECT player_id, coins, goods FROM ledger").fetchall()
    assert len(ledger) == 2 * len(done)
    moved = Counter()
    for player_id, coins, goods in ledger:
        moved[player_id, "coins"] += coins
        moved[player_id, "goods"] += goods
    assert all(
        moved[pid, "coins"] == balances[pid][0] - START[pid][0]
        and moved[pid, "goods"] == balances[pid][1] - START[pid][1]
        for pid in START
    )

    if backend == "mysql":
        fired = database.execute_sql("SELECT fired FROM fault_plan").fetchone()[0]
        assert fired >= TRADES // FAULT_EVERY // 2  # the faults did happen...
        assert len(retries) == fired  # ...and each was retried, none surfaced
        assert {r.args[2].args[0] for r in retries} == {1213, 9007}
    with capsys.disabled():
        print(
            "\n[concurrency] %s threads=%d attempted=%d succeeded=%d refused=%d retried=%d "
            "seconds=%.1f seed=%d"
            % (backend, threads, TRADES, len(done), len(refused), len(retries), seconds, seed)
        )
