"""asyncio against threads: the same trade at the same concurrency, in one run, as ratios.

At each concurrency N, N asyncio tasks on an AsyncTiDBDatabase (pool of N) and
N threads on a PooledTiDBDatabase (PyMySQL, pool of N) trade between random
players among 1,000 for the same window. Each trade is the walkthrough's
exchange() (one conditional UPDATE of both players) in arun_transaction() or
run_transaction(), with its connection checked out and returned around it, as
a web request does. Within each repetition the two run in turn, in a rotating
order, and asyncio's figures are divided by the threads'; a first repetition
warms both up and is not counted. Balances are checked after every window
(bench/concurrency.py's invariant).
"""

import asyncio
import random
import time
from statistics import median

import peewee_example
from peewee_example import Player, TradeRefused, exchange
from tidb_dialect import PooledTiDBDatabase, run_transaction

from .bulk import spread
from .concurrency import PLAYERS as SETS
from .concurrency import credit, invariant, percentile, seed, window
from .server import database_for

#: bench/concurrency.py's "spread" set: 1,000 players starting with little.
PLAYERS, START = SETS["spread"]


def trade_args(rng, ids):
    sell_id, buy_id = rng.sample(ids, 2)
    return sell_id, buy_id, rng.randint(1, 5), rng.randint(1, 50)


class Tally:
    """What the tasks' trades did: latencies, refusals, errors, coins and goods moved."""

    def __init__(self):
        self.latencies, self.ledger, self.refused, self.errors = [], {}, 0, []

    def record(self, args, started, done):
        self.latencies.append(time.perf_counter() - started)
        if not done:
            self.refused += 1
            return
        sell_id, buy_id, amount, price = args
        credit(self.ledger, sell_id, price, -amount)
        credit(self.ledger, buy_id, -price, amount)

    def figures(self, sync_db, ids, seconds):
        """bench/concurrency.py window()'s figures, the balances read synchronously."""
        peewee_example.db.initialize(sync_db)
        latencies = sorted(self.latencies)
        return {
            "trades": len(latencies),
            "seconds": seconds,
            "refused": self.refused,
            "errors": self.errors,
            "p50_ms": 1000 * percentile(latencies, 50),
            "p99_ms": 1000 * percentile(latencies, 99),
            "invariant": invariant(sync_db, ids, self.ledger, START),
        }


def request(pooled):
    """trade() for bench/concurrency.py's threads: one request, its connection returned after."""

    def trade(sell_id, buy_id, amount, price):
        try:
            run_transaction(pooled, lambda db: exchange(sell_id, buy_id, amount, price))
        except TradeRefused:
            return False
        finally:
            pooled.close()
        return True

    return trade


async def tasks_window(adb, ids, concurrency, seconds, seed_value):
    from tidb_dialect import arun_transaction

    peewee_example.db.initialize(adb)
    tally = Tally()

    async def worker(rng, deadline):
        try:
            while time.perf_counter() < deadline:
                args = trade_args(rng, ids)
                started = time.perf_counter()
                try:
                    await arun_transaction(adb, lambda db, args=args: db.run(exchange, *args))
                    done = True
                except TradeRefused:
                    done = False
                finally:
                    await adb.aclose()  # back to the pool, as at the end of a request
                tally.record(args, started, done)
        except Exception as exc:  # reported in the figures
            tally.errors.append("%s: %s" % (type(exc).__name__, exc))

    try:
        await adb.aconnect()  # the pool filled (pool_min_size), before the clock starts
        await adb.aclose()
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(
            *(worker(random.Random(seed_value + n), deadline) for n in range(concurrency))
        )
        return tally, time.perf_counter() - start
    finally:
        await adb.close_pool()


def run(sync_db, concurrencies, seconds, times):
    """Figures per concurrency: each side's medians, and asyncio's ratios to threads."""
    from tidb_dialect import AsyncTiDBDatabase

    peewee_example.db.initialize(sync_db)  # the model's table, made and seeded through it
    sync_db.create_tables([Player])
    figures = []
    for concurrency in concurrencies:
        pooled = PooledTiDBDatabase.like(sync_db, max_connections=concurrency)
        runs = []
        for n in range(-1, times):  # -1: a warm-up (fresh connections), not counted
            sides = {}
            for side in ("threads", "asyncio") if n % 2 else ("asyncio", "threads"):
                peewee_example.db.initialize(sync_db)
                ids = seed(sync_db, PLAYERS, START)
                if side == "threads":  # each thread holds a connection until the start
                    peewee_example.db.initialize(pooled)
                    trade = request(pooled)
                    sides[side] = window(
                        pooled, trade, ids, START, concurrency, seconds, 1000 * (n + 1)
                    )
                    pooled.close_all()
                    continue
                adb = AsyncTiDBDatabase.like(
                    sync_db, pool_size=concurrency, pool_min_size=concurrency
                )
                window_of_tasks = tasks_window(adb, ids, concurrency, seconds, 1000 * (n + 1))
                tally, elapsed = asyncio.run(window_of_tasks)
                sides[side] = tally.figures(sync_db, ids, elapsed)
            if n >= 0:
                runs.append(sides)
        figures.append(summary(concurrency, runs, times))
    sync_db.execute_sql("TRUNCATE TABLE player")
    return figures


def summary(concurrency, runs, times):
    entry = {"concurrency": concurrency, "players": PLAYERS, "repetitions": times}
    for side in ("threads", "asyncio"):
        mine = [r[side] for r in runs]
        entry[side] = {
            "trades_per_s": round(median(r["trades"] / r["seconds"] for r in mine), 1),
            "p50_ms": round(median(r["p50_ms"] for r in mine), 2),
            "p99_ms": round(median(r["p99_ms"] for r in mine), 2),
            "trades": sum(r["trades"] for r in mine),
            "refused": sum(r["refused"] for r in mine),
            "error_count": sum(len(r["errors"]) for r in mine),
            "errors": [e for r in mine for e in r["errors"]][:5],
            "invariant_held": all(r["invariant"]["held"] for r in mine),
        }
    for key in ("trades_per_s", "p50_ms", "p99_ms"):
        entry["x_" + key] = spread(
            [rate(r["asyncio"], key) / rate(r["threads"], key) for r in runs]
        )
    return entry


def rate(figures, key):
    return figures["trades"] / figures["seconds"] if key == "trades_per_s" else figures[key]


def measure(settings, profile):
    """The section of `python -m bench`: {"figures": [...]} or {"skipped": why}."""
    from tidb_dialect import ConfigError

    try:
        from tidb_dialect import AsyncTiDBDatabase  # noqa: F401  (peewee 4, aiomysql, greenlet)
    except ConfigError as exc:
        return {"skipped": str(exc), "figures": []}
    sync_db = database_for(settings, "pymysql")  # the default driver, for the threads
    try:
        figures = run(
            sync_db, profile["asyncio_concurrency"], profile["window_s"], profile["asyncio_times"]
        )
    finally:
        sync_db.close()
    return {"skipped": None, "figures": figures}
