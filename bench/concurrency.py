"""Concurrent trades: throughput and latency of trade() on many threads, balances checked after.

Every thread has its own connection (peewee keeps one per thread) and trades
between random pairs until the window closes: among 2 players ("hot", every
trade waits for the one before) or among 1000 ("spread", trades rarely meet).
Players start with little (50 coins, 5 goods), so many trades are refused
for want of coins or goods: refusals are part of the load, as in a real game.
A third set ("ample", 1000 players with a million of each) refuses none: there
every trade is BEGIN, the UPDATE and COMMIT.

Each run is made twice, in turns: by trade() and by the driver alone sending the
same statements (bench/plain.py). Within each repetition, ours is divided by the
driver's: trades per second, and the client's CPU time per trade (the process's
CPU time over the window; the server is another process).
"""

import random
import threading
import time
from statistics import median

from peewee_example import Player

from .bulk import spread
from .plain import patterns

SCARCE = (50, 5)  # coins, goods: a few trades empty a player
AMPLE = (10**6, 10**6)  # no trade is refused
#: Each set of players: how many, and the coins and goods each starts with.
PLAYERS = {"hot": (2, SCARCE), "spread": (1000, SCARCE), "ample": (1000, AMPLE)}


def seed(db, count, start):
    db.execute_sql("TRUNCATE TABLE player")
    ids = ["p%04d" % n for n in range(count)]
    with db.atomic():
        Player.insert_many(
            [(id_, *start) for id_ in ids],
            fields=[Player.id, Player.coins, Player.goods],
        ).execute()
    return ids


def worker(db, trade, ids, seconds, barrier, rng, outcome):
    """Trade until `seconds` after the start; record latencies and what each done trade moved."""
    latencies, ledger, refused, errors = [], {}, 0, []
    try:
        db.connect(reuse_if_open=True)
        barrier.wait(timeout=60)
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            sell_id, buy_id = rng.sample(ids, 2)
            amount, price = rng.randint(1, 5), rng.randint(1, 50)
            start = time.perf_counter()
            try:
                done = trade(sell_id, buy_id, amount, price)
            except Exception as exc:  # a failed trade changes nothing; report it, keep trading
                errors.append("%s: %s" % (type(exc).__name__, exc))
                continue
            latencies.append(time.perf_counter() - start)
            if not done:
                refused += 1
                continue
            credit(ledger, sell_id, price, -amount)
            credit(ledger, buy_id, -price, amount)
    except Exception as exc:  # no connection, or the start never came: the run reports it
        errors.append("%s: %s" % (type(exc).__name__, exc))
        barrier.abort()
    finally:
        db.close()
        outcome.update(latencies=latencies, ledger=ledger, refused=refused, errors=errors)


def credit(ledger, id_, coins, goods):
    before = ledger.get(id_, (0, 0))
    ledger[id_] = (before[0] + coins, before[1] + goods)


def invariant(db, ids, ledger, start):
    """The checks of tests/test_concurrency.py: coins and goods are conserved, none is
    negative, and every balance is its start plus exactly the trades that reported success."""
    balances = {p.id: (p.coins, p.goods) for p in Player.select()}
    expected = {
        id_: tuple(
            first + delta for first, delta in zip(start, ledger.get(id_, (0, 0)), strict=True)
        )
        for id_ in ids
    }
    conserved = all(sum(b[i] for b in balances.values()) == start[i] * len(ids) for i in (0, 1))
    non_negative = all(min(b) >= 0 for b in balances.values())
    return {
        "held": conserved and non_negative and balances == expected,
        "conserved": conserved,
        "non_negative": non_negative,
        "matches_reported_trades": balances == expected,
    }


def window(db, trade, ids, start_with, threads, seconds, seed_value):
    barrier = threading.Barrier(threads + 1)
    outcomes = [{} for _ in range(threads)]
    workers = [
        threading.Thread(
            target=worker,
            args=(db, trade, ids, seconds, barrier, random.Random(seed_value + n), outcomes[n]),
        )
        for n in range(threads)
    ]
    for thread in workers:
        thread.start()
    barrier.wait(timeout=60)
    start, cpu_start = time.perf_counter(), time.process_time()
    for thread in workers:
        thread.join(timeout=seconds + 120)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    if any(thread.is_alive() for thread in workers):
        raise RuntimeError("a trading thread did not finish")
    latencies = sorted(x for o in outcomes for x in o["latencies"])
    ledger = {}
    for outcome in outcomes:
        for id_, (coins, goods) in outcome["ledger"].items():
            credit(ledger, id_, coins, goods)
    return {
        "trades": len(latencies),
        "seconds": elapsed,
        "cpu_us_per_trade": 1e6 * cpu / max(len(latencies), 1),
        "refused": sum(o["refused"] for o in outcomes),
        "errors": [e for o in outcomes for e in o["errors"]],
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
        "invariant": invariant(db, ids, ledger, start_with),
    }


def percentile(ordered, percent):
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]


def run(db, driver, thread_counts, seconds, times):
    db.create_tables([Player])
    trades = patterns(db)
    figures = []
    for rows, (count, start) in PLAYERS.items():
        for threads in thread_counts:
            runs = {name: [] for name in trades}
            for n in range(times):
                for name in list(trades)[:: 1 if n % 2 else -1]:  # take turns at going first
                    ids = seed(db, count, start)
                    runs[name].append(
                        window(db, trades[name], ids, start, threads, seconds, 1000 * n)
                    )
            for name, own in runs.items():
                figures.append(
                    summary(driver, rows, count, threads, name, own, runs["driver alone"])
                )
    db.execute_sql("TRUNCATE TABLE player")
    return figures


def summary(driver, rows, count, threads, pattern, runs, baseline):
    """One pattern's figures; ratios to the driver alone, taken within each repetition."""
    rates = [r["trades"] / r["seconds"] for r in runs]
    base_rates = [r["trades"] / r["seconds"] for r in baseline]
    return {
        "driver": driver,
        "pattern": pattern,
        "rows": rows,
        "players": count,
        "threads": threads,
        "trades_per_s": round(median(rates), 1),
        "trades_per_s_range": [round(min(rates), 1), round(max(rates), 1)],
        "x_driver_trades_per_s": spread([a / b for a, b in zip(rates, base_rates, strict=True)]),
        "cpu_us_per_trade": round(median(r["cpu_us_per_trade"] for r in runs)),
        "x_driver_cpu_per_trade": spread(
            [
                a["cpu_us_per_trade"] / b["cpu_us_per_trade"]
                for a, b in zip(runs, baseline, strict=True)
            ]
        ),
        "p50_ms": round(median([r["p50_ms"] for r in runs]), 2),
        "p50_ms_range": [
            round(min(r["p50_ms"] for r in runs), 2),
            round(max(r["p50_ms"] for r in runs), 2),
        ],
        "p99_ms": round(median([r["p99_ms"] for r in runs]), 2),
        "p99_ms_range": [
            round(min(r["p99_ms"] for r in runs), 2),
            round(max(r["p99_ms"] for r in runs), 2),
        ],
        "trades": sum(r["trades"] for r in runs),
        "refused": sum(r["refused"] for r in runs),
        "errors": [e for r in runs for e in r["errors"]][:5],
        "error_count": sum(len(r["errors"]) for r in runs),
        "invariant_held": all(r["invariant"]["held"] for r in runs),
        "invariant": [r["invariant"] for r in runs if not r["invariant"]["held"]][:1],
        "repetitions": len(runs),
    }
