"""asyncio against threads, and against aiomysql alone: the same trade at the same concurrency.

At each concurrency N, N asyncio tasks on an AsyncTiDBDatabase (pool of N),
N threads on a PooledTiDBDatabase (PyMySQL, pool of N) and N tasks on aiomysql
alone (its own pool of N) trade between random players among 1,000 for the same
window. The first two run the walkthrough's exchange() (one conditional UPDATE
of both players) in arun_transaction() or run_transaction(), with the connection
checked out and returned around it, as a web request does; aiomysql alone sends
the same statements (BEGIN, exchange()'s UPDATE learnt from peewee's log, COMMIT
or ROLLBACK) with its own begin(), execute(), commit() and rollback(), and
nothing else. Within each repetition the three run in turn, in a rotating order,
and asyncio's figures are divided by the threads' and by aiomysql alone's; a
first repetition warms them up and is not counted. Balances are checked after
every window (bench/concurrency.py's invariant).
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
from .plain import DEADLOCK, bind, learnt, probe_exchange
from .server import database_for

#: bench/concurrency.py's "spread" set: 1,000 players starting with little.
PLAYERS, START = SETS["spread"]
SIDES = ("threads", "asyncio", "aiomysql alone")


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

    def figures(self, sync_db, ids, seconds, cpu):
        """bench/concurrency.py window()'s figures, the balances read synchronously."""
        peewee_example.db.initialize(sync_db)
        latencies = sorted(self.latencies)
        return {
            "trades": len(latencies),
            "seconds": seconds,
            "cpu_us_per_trade": 1e6 * cpu / max(len(latencies), 1),
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


class PeeweeTasks:
    """The asyncio trade as an application writes it: exchange() in arun_transaction()."""

    def __init__(self, sync_db, size):
        from tidb_dialect import AsyncTiDBDatabase, arun_transaction

        self.adb = AsyncTiDBDatabase.like(sync_db, pool_size=size, pool_min_size=size)
        self.arun_transaction = arun_transaction  # imported once, as an application's module does

    async def start(self):
        peewee_example.db.initialize(self.adb)
        await self.adb.aconnect()  # the pool filled (pool_min_size), before the clock starts
        await self.adb.aclose()

    async def trade(self, sell_id, buy_id, amount, price):
        try:
            await self.arun_transaction(
                self.adb, lambda db: db.run(exchange, sell_id, buy_id, amount, price)
            )
        except TradeRefused:
            return False
        finally:
            await self.adb.aclose()  # back to the pool, as at the end of a request
        return True

    async def stop(self):
        await self.adb.close_pool()


class DriverTasks:
    """The same statements through aiomysql alone, on a pool of aiomysql's own: what
    bench/plain.py is to threads. Like arun_transaction(), it runs a trade again after a
    deadlock (1213)."""

    def __init__(self, sync_db, size):
        from tidb_dialect import AsyncTiDBDatabase

        like = AsyncTiDBDatabase.like(sync_db)  # aiomysql's keywords for the same server
        self.keywords = dict(like.connect_params, db=like.database, autocommit=True)
        self.size, self.pool = size, None
        peewee_example.db.initialize(sync_db)
        self.update = learnt(lambda: probe_exchange(sync_db))

    async def start(self):
        import aiomysql

        self.pool = await aiomysql.create_pool(
            minsize=self.size, maxsize=self.size, **self.keywords
        )

    async def trade(self, sell_id, buy_id, amount, price):
        params = bind(self.update[1], (sell_id, buy_id, amount, price))
        async with self.pool.acquire() as connection:
            cursor = await connection.cursor()
            try:
                while True:
                    await connection.begin()
                    try:
                        await cursor.execute(self.update[0], params)
                    except Exception as exc:
                        await connection.rollback()
                        if exc.args and exc.args[0] == DEADLOCK:
                            continue
                        raise
                    if cursor.rowcount == 2:
                        await connection.commit()
                        return True
                    await connection.rollback()
                    return False
            finally:
                await cursor.close()

    async def stop(self):
        self.pool.close()
        await self.pool.wait_closed()


async def tasks_window(side, ids, concurrency, seconds, seed_value):
    """`concurrency` tasks trading through `side` for `seconds`: (Tally, wall s, CPU s)."""
    tally = Tally()

    async def worker(rng, deadline):
        try:
            while time.perf_counter() < deadline:
                args = trade_args(rng, ids)
                started = time.perf_counter()
                tally.record(args, started, await side.trade(*args))
        except Exception as exc:  # reported in the figures
            tally.errors.append("%s: %s" % (type(exc).__name__, exc))

    await side.start()
    try:
        start, cpu_start = time.perf_counter(), time.process_time()
        deadline = start + seconds
        await asyncio.gather(
            *(worker(random.Random(seed_value + n), deadline) for n in range(concurrency))
        )
        return tally, time.perf_counter() - start, time.process_time() - cpu_start
    finally:
        await side.stop()


def run(sync_db, concurrencies, seconds, times):
    """Figures per concurrency: each side's medians, and asyncio's ratios to the others."""
    peewee_example.db.initialize(sync_db)  # the model's table, made and seeded through it
    sync_db.create_tables([Player])
    figures = []
    for concurrency in concurrencies:
        pooled = PooledTiDBDatabase.like(sync_db, max_connections=concurrency)
        runs = []
        for n in range(-1, times):  # -1: a warm-up (fresh connections), not counted
            sides = {}
            for side in SIDES[n % 3 :] + SIDES[: n % 3]:  # each goes first in turn
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
                tasks = (PeeweeTasks if side == "asyncio" else DriverTasks)(sync_db, concurrency)
                window_of_tasks = tasks_window(tasks, ids, concurrency, seconds, 1000 * (n + 1))
                tally, elapsed, cpu = asyncio.run(window_of_tasks)
                sides[side] = tally.figures(sync_db, ids, elapsed, cpu)
            if n >= 0:
                runs.append(sides)
        figures.append(summary(concurrency, runs, times))
    sync_db.execute_sql("TRUNCATE TABLE player")
    return figures


def summary(concurrency, runs, times):
    """Each side's medians; asyncio over threads (x_) and over aiomysql alone (x_driver_),
    taken within each repetition."""
    entry = {"concurrency": concurrency, "players": PLAYERS, "repetitions": times}
    for side in SIDES:
        mine = [r[side] for r in runs]
        entry[side] = {
            "trades_per_s": round(median(r["trades"] / r["seconds"] for r in mine), 1),
            "cpu_us_per_trade": round(median(r["cpu_us_per_trade"] for r in mine)),
            "p50_ms": round(median(r["p50_ms"] for r in mine), 2),
            "p99_ms": round(median(r["p99_ms"] for r in mine), 2),
            "trades": sum(r["trades"] for r in mine),
            "refused": sum(r["refused"] for r in mine),
            "error_count": sum(len(r["errors"]) for r in mine),
            "errors": [e for r in mine for e in r["errors"]][:5],
            "invariant_held": all(r["invariant"]["held"] for r in mine),
        }
    for prefix, other in (("x_", "threads"), ("x_driver_", "aiomysql alone")):
        for key in ("trades_per_s", "cpu_us_per_trade", "p50_ms", "p99_ms"):
            entry[prefix + key] = spread(
                [rate(r["asyncio"], key) / rate(r[other], key) for r in runs]
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
