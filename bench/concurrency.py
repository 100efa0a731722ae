"""Concurrent trades: throughput and latency of trade() on many threads, balances checked after.

Every thread has its own connection (peewee keeps one per thread) and trades
between random pairs until the window closes: among 2 players ("hot", every
trade waits for the one before) or among 1000 ("spread", trades rarely meet).
Players start with little (50 coins, 5 goods), so many trades are refused
for want of coins or goods: refusals are part of the load, as in a real game.
"""

import random
import threading
import time
from statistics import median

from peewee_example import Player, trade

PLAYERS = {"hot": 2, "spread": 1000}
START = (50, 5)  # coins, goods: a few trades empty a player


def seed(db, count):
    db.execute_sql("TRUNCATE TABLE player")
    ids = ["p%04d" % n for n in range(count)]
    with db.atomic():
        Player.insert_many(
            [(id_, *START) for id_ in ids],
            fields=[Player.id, Player.coins, Player.goods],
        ).execute()
    return ids


def worker(db, ids, seconds, barrier, rng, outcome):
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


def invariant(db, ids, ledger):
    """The checks of tests/test_concurrency.py: coins and goods are conserved, none is
    negative, and every balance is its start plus exactly the trades that reported success."""
    balances = {p.id: (p.coins, p.goods) for p in Player.select()}
    expected = {
        id_: tuple(
            start + delta for start, delta in zip(START, ledger.get(id_, (0, 0)), strict=True)
        )
        for id_ in ids
    }
    conserved = all(sum(b[i] for b in balances.values()) == START[i] * len(ids) for i in (0, 1))
    non_negative = all(min(b) >= 0 for b in balances.values())
    return {
        "held": conserved and non_negative and balances == expected,
        "conserved": conserved,
        "non_negative": non_negative,
        "matches_reported_trades": balances == expected,
    }


def window(db, ids, threads, seconds, seed_value):
    barrier = threading.Barrier(threads + 1)
    outcomes = [{} for _ in range(threads)]
    workers = [
        threading.Thread(
            target=worker,
            args=(db, ids, seconds, barrier, random.Random(seed_value + n), outcomes[n]),
        )
        for n in range(threads)
    ]
    elapsed = run_together(workers, barrier, seconds)
    latencies = sorted(x for o in outcomes for x in o["latencies"])
    ledger = {}
    for outcome in outcomes:
        for id_, (coins, goods) in outcome["ledger"].items():
            credit(ledger, id_, coins, goods)
    return {
        "trades": len(latencies),
        "seconds": elapsed,
        "refused": sum(o["refused"] for o in outcomes),
        "errors": [e for o in outcomes for e in o["errors"]],
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
        "invariant": invariant(db, ids, ledger),
    }


def run_together(workers, barrier, seconds):
    """Start the `workers` threads, which trade once `barrier` lets them all go for
    `seconds`; the seconds from then until the last one finished."""
    for thread in workers:
        thread.start()
    barrier.wait(timeout=60)
    start = time.perf_counter()
    for thread in workers:
        thread.join(timeout=seconds + 120)
    if any(thread.is_alive() for thread in workers):
        raise RuntimeError("a trading thread did not finish")
    return time.perf_counter() - start


def percentile(ordered, percent):
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(len(ordered) * percent / 100))]


def run(db, driver, thread_counts, seconds, times):
    db.create_tables([Player])
    figures = []
    for rows, count in PLAYERS.items():
        for threads in thread_counts:
            runs = []
            for n in range(times):
                ids = seed(db, count)
                runs.append(window(db, ids, threads, seconds, seed_value=1000 * n))
            figures.append(
                {
                    "driver": driver,
                    "rows": rows,
                    "players": count,
                    "threads": threads,
                    "trades_per_s": round(median([r["trades"] / r["seconds"] for r in runs]), 1),
                    "p50_ms": round(median([r["p50_ms"] for r in runs]), 2),
                    "p99_ms": round(median([r["p99_ms"] for r in runs]), 2),
                    "trades": sum(r["trades"] for r in runs),
                    "refused": sum(r["refused"] for r in runs),
                    "errors": [e for r in runs for e in r["errors"]][:5],
                    "error_count": sum(len(r["errors"]) for r in runs),
                    "invariant_held": all(r["invariant"]["held"] for r in runs),
                    "invariant": [r["invariant"] for r in runs if not r["invariant"]["held"]][:1],
                    "repetitions": times,
                }
            )
    db.execute_sql("TRUNCATE TABLE player")
    return figures
