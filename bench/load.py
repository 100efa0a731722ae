"""Question 2, under load: trades per second and client CPU per trade, threads and asyncio.

Each side trades between random players among PLAYERS for a window of time, from a fresh table;
the sides take turns within each repetition, in a rotating order. After every window the
balances are checked: coins and goods conserved, and how many players went below zero (the docs
page's trade checks balances it read without a lock, so concurrent trades can overdraw a player).
"""

import asyncio
import functools
import importlib.util
import random
import threading
import time
from statistics import median

import peewee_example
from tidb_dialect import PooledTiDBDatabase

from . import trades

PLAYERS, COINS, GOODS = 20, 300, 10  # few and poor, so that trades contend
ASYNCIO = importlib.util.find_spec("playhouse.pwasyncio") is not None  # peewee 4 only


def trade_args(rng, ids):
    sell_id, buy_id = rng.sample(ids, 2)
    return sell_id, buy_id, rng.randint(1, 3), rng.randint(1, 60)


class Tally:
    def __init__(self):
        self.trades, self.refused, self.errors = 0, 0, {}
        self.lock = threading.Lock()

    def add(self, done, error=None):
        with self.lock:
            self.trades += 1
            if error is not None:
                name = type(error).__name__
                self.errors[name] = self.errors.get(name, 0) + 1
            elif not done:
                self.refused += 1


def thread_window(trade, ids, threads, seconds, seed_value, close):
    tally, barrier = Tally(), threading.Barrier(threads + 1)
    stop = [0.0]

    def worker(n):
        rng = random.Random(seed_value * 1000 + n)
        barrier.wait()
        while time.perf_counter() < stop[0]:
            args = trade_args(rng, ids)
            try:
                tally.add(trade(*args))
            except Exception as exc:  # counted and reported: the docs page's trade deadlocks
                tally.add(False, exc)
        close()

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    cpu, started = time.process_time(), time.perf_counter()
    stop[0] = started + seconds
    barrier.wait()
    for w in workers:
        w.join()
    return tally, time.perf_counter() - started, time.process_time() - cpu


def task_window(trade, ids, tasks, seconds, seed_value, loop):
    tally = Tally()

    async def worker(n, stop):
        rng = random.Random(seed_value * 1000 + n)
        while time.perf_counter() < stop:
            args = trade_args(rng, ids)
            try:
                tally.add(await trade(*args))
            except Exception as exc:
                tally.add(False, exc)

    async def main():
        stop = time.perf_counter() + seconds
        await asyncio.gather(*(worker(n, stop) for n in range(tasks)))

    cpu, started = time.process_time(), time.perf_counter()
    loop.run_until_complete(main())
    return tally, time.perf_counter() - started, time.process_time() - cpu


def figures(tally, seconds, cpu):
    return {
        "trades_per_s": tally.trades / seconds,
        "cpu_us_per_trade": 1e6 * cpu / max(tally.trades, 1),
        "refused": tally.refused,
        "errors": tally.errors,
        **trades.check(PLAYERS, COINS, GOODS),
    }


def thread_sides(settings, threads):
    """(sides, pooled, engine): each side's connections come from a pool of `threads`, as in a
    web service; a thread returns its connection when its window ends."""
    pooled = PooledTiDBDatabase(
        settings.database, max_connections=threads, **settings.connect_params()
    )
    engine = trades.engine(settings, pool_size=threads)
    sides = dict(trades.PEEWEE)
    sides.update(trades.sqlalchemy_trades(engine))
    return sides, pooled, engine


def async_sides(settings, tasks, loop):
    """(sides, close): peewee's trades run by `await db.run(...)` on AsyncTiDBDatabase, and
    AsyncSession's; each side an async function of the trade's arguments."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from tidb_dialect import AsyncTiDBDatabase

    adb = AsyncTiDBDatabase(settings.database, **settings.connect_params(), pool_size=tasks)
    engine = create_async_engine(
        trades.sa_url(settings, "aiomysql"),
        pool_size=tasks,
        max_overflow=0,
        connect_args=trades.sa_tls(settings, asyncio=True),
    )

    def on_adb(trade):
        async def run(*args):
            return await adb.run(trade, *args)

        return run

    sides = {"lesson": on_adb(trades.lesson), "one statement": on_adb(trades.one_statement)}
    sides.update(trades.async_sqlalchemy_trades(engine))

    def close():
        loop.run_until_complete(adb.close_pool())
        loop.run_until_complete(engine.dispose())

    return sides, adb, close


def rotate(names, rep):
    names = list(names)
    k = rep % len(names)
    return names[k:] + names[:k]


def run(settings, thread_counts, task_counts, seconds, repeats):
    database = settings.build_database()
    results = []
    for threads in thread_counts:
        sides, pooled, engine = thread_sides(settings, threads)
        in_threads = functools.partial(thread_window, threads=threads, close=pooled.close)
        runs = windows(database, pooled, sides, in_threads, seconds, repeats)
        pooled.close_all()
        engine.dispose()
        results += summarise("threads", threads, runs)
    for tasks in task_counts if ASYNCIO else ():
        loop = asyncio.new_event_loop()
        sides, adb, close = async_sides(settings, tasks, loop)
        in_tasks = functools.partial(task_window, tasks=tasks, loop=loop)
        runs = windows(database, adb, sides, in_tasks, seconds, repeats)
        close()
        loop.close()
        results += summarise("asyncio tasks", tasks, runs)
    database.close()
    return results


def windows(database, target, sides, window, seconds, repeats):
    """{side: figures of each window}: every side a window a repetition, from a fresh table, the
    trades on `target`. Each side's first window (a quarter as long) warms it up, uncounted."""
    runs = {name: [] for name in sides}
    for rep in range(-1, repeats):
        for name in rotate(sides, rep):
            peewee_example.db.initialize(database)
            ids = trades.seed(PLAYERS, COINS, GOODS)
            peewee_example.db.initialize(target)
            length = seconds / 4 if rep < 0 else seconds
            tally, elapsed, cpu = window(sides[name], ids, seconds=length, seed_value=rep)
            peewee_example.db.initialize(database)
            if rep >= 0:
                runs[name].append(figures(tally, elapsed, cpu))
    return runs


def summarise(kind, n, runs):
    rows = []
    for name, windows in runs.items():
        rate = [w["trades_per_s"] for w in windows]
        cpu = [w["cpu_us_per_trade"] for w in windows]
        errors = {}
        for w in windows:
            for error, count in w["errors"].items():
                errors[error] = errors.get(error, 0) + count
        rows.append(
            {
                "kind": kind,
                "n": n,
                "trade": name,
                "trades_per_s": [median(rate), min(rate), max(rate)],
                "cpu_us_per_trade": [median(cpu), min(cpu), max(cpu)],
                "refused": sum(w["refused"] for w in windows),
                "errors": errors,
                "conserved": all(w["conserved"] for w in windows),
                "below_zero": sum(w["below_zero"] for w in windows),
            }
        )
    return rows
