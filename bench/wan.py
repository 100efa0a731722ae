"""WAN latency: the walkthrough and single trades through a loopback relay that adds a round trip.

The relay (bench/relay.py) holds every chunk it forwards for half the
round-trip time, in each direction, and keeps their order: a statement and
its answer cost one RTT, as they would across a network.
"""

from statistics import median

import peewee_example
from peewee_example import Player

from .measure import counted
from .public_sample import PATTERNS, walkthrough_trades
from .roundtrips import DONE, REFUSED, reset_traders


def timed_runs(db, action, times, expected=None, setup=None):
    """Median wall time of `action` over `times` runs, and the statements of one."""
    runs = []
    for _ in range(times):
        if setup:
            setup()
        seconds, result, statements = counted(db, action)
        if expected is not None and result != expected:
            raise AssertionError("%r returned %r, not %r" % (action, result, expected))
        runs.append((seconds, statements))
    return {"wall_s": median([r[0] for r in runs]), "statements": runs[0][1], "repetitions": times}


def run(database, driver, rtt, times):
    """`database` must reach the server through a Relay (bench/relay.py) with `rtt` seconds."""
    peewee_example.db.initialize(database)
    database.connect(reuse_if_open=True)
    database.create_tables([Player])
    figures = []
    try:
        for pattern, trade_function in PATTERNS.items():
            with walkthrough_trades(trade_function):
                walkthrough = timed_runs(database, peewee_example.walkthrough, times)
            trade = timed_runs(
                database, lambda: trade_function(**DONE), times, expected=True, setup=reset_traders
            )
            refused = timed_runs(
                database,
                lambda: trade_function(**REFUSED),
                times,
                expected=False,
                setup=reset_traders,
            )
            figures.append(
                {
                    "driver": driver,
                    "pattern": pattern,
                    "rtt_ms": rtt * 1000,
                    "walkthrough": walkthrough,
                    "trade": trade,
                    "refused_trade": refused,
                }
            )
    finally:
        database.close()
    return figures
