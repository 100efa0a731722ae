"""WAN latency: trades (and the walkthrough) through a relay that adds a network's round-trip time.

The relay (tests/kit/relay.py) holds every chunk it forwards for half the
round-trip time, in each direction, and keeps their order: a command and
its answer cost one RTT, as they would across a network. It also counts the
round trips, so each figure comes with the count that explains it.
"""

from statistics import median

import peewee_example
from peewee_example import Player
from tests.kit.relay import Relay

from .measure import on_the_wire
from .public_sample import PATTERNS
from .roundtrips import DONE, REFUSED, reset_traders
from .server import database_for


def timed_runs(relay, action, times, expected=None, setup=None):
    """Median wall time of `action` over `times` runs, and the round trips of one."""
    runs = []
    for _ in range(times):
        if setup:
            setup()
        seconds, result, round_trips = on_the_wire(relay, action)
        if expected is not None and result != expected:
            raise AssertionError("%r returned %r, not %r" % (action, result, expected))
        runs.append((seconds, round_trips))
    return {
        "wall_ms": round(1000 * median(r[0] for r in runs), 1),
        "round_trips": runs[0][1],
        "repetitions": times,
    }


def at_rtt(settings, driver, rtt, times, walkthrough):
    """Trades (and, if `walkthrough`, the whole walkthrough) at `rtt` seconds, by pattern."""
    figures = []
    with Relay(settings.host, settings.port, rtt=rtt) as relay:
        database = database_for(settings, driver, host=relay.host, port=relay.port)
        peewee_example.db.initialize(database)
        try:
            database.create_tables([Player])
            for pattern, (trade_function, script) in PATTERNS.items():
                figure = {"driver": driver, "pattern": pattern, "rtt_ms": rtt * 1000}
                if walkthrough:
                    figure["walkthrough"] = timed_runs(relay, script, times)
                for name, arguments, expected in (
                    ("trade", DONE, True),
                    ("refused_trade", REFUSED, False),
                ):
                    figure[name] = timed_runs(
                        relay,
                        lambda trade=trade_function, arguments=arguments: trade(**arguments),
                        times,
                        expected=expected,
                        setup=reset_traders,
                    )
                figures.append(figure)
        finally:
            database.close()
    return figures


def run(settings, driver, rtts, walkthrough_rtt, times):
    figures = []
    for rtt in sorted(set(rtts) | {walkthrough_rtt}):
        figures += at_rtt(settings, driver, rtt, times, walkthrough=rtt == walkthrough_rtt)
    return figures
