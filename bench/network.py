"""Question 1, across the network: round trips and time per trade at each round-trip time.

Every trade goes through the shared test kit's relay, which counts round trips (commands the
client waited for) and adds the round-trip time. The trades take turns, one trade each, so that a
change in the machine's load falls on all of them alike; the first trade of each connects. Then
each makes one trade it must refuse: a refusal's round trips count too under load.
"""

import time
from statistics import median

import peewee_example
from tests.kit.relay import Relay

from . import trades

PAIR = ("0", "1")  # two players whose balances no trade here can exhaust


def run(settings, rtts_ms, count):
    rows = []
    for rtt in rtts_ms:
        with Relay(settings.host, settings.port, rtt=rtt / 1000) as relay:
            relayed = settings.replace(TIDB_HOST=relay.host, TIDB_PORT=str(relay.port))
            database = relayed.build_database()
            peewee_example.db.initialize(database)
            trades.seed(2, 10**9, 10**6)
            engine = trades.engine(settings, port=relay.port)
            sides = dict(trades.PEEWEE)
            everything = trades.sqlalchemy_trades(engine)
            sides["SQLAlchemy ORM, FOR UPDATE"] = everything["SQLAlchemy ORM, FOR UPDATE"]
            sides["SQLAlchemy ORM, conditional UPDATE"] = everything[
                "SQLAlchemy ORM, conditional UPDATE"
            ]
            seconds = {name: [] for name in sides}
            trips = {name: [] for name in sides}
            for turn in range(count + 1):
                sell, buy = PAIR if turn % 2 else PAIR[::-1]
                for name, trade in sides.items():
                    relay.reset()
                    started = time.perf_counter()
                    if not trade(sell, buy, 1, 1):
                        raise RuntimeError("%s refused a trade it should make" % name)
                    if turn:  # the first trade connects
                        seconds[name].append(time.perf_counter() - started)
                        trips[name].append(relay.round_trips)
            refused = {}  # and one trade each that the buyer cannot pay for
            for name, trade in sides.items():
                relay.reset()
                if trade(*PAIR, 1, 2 * 10**9):
                    raise RuntimeError("%s made a trade it should refuse" % name)
                refused[name] = relay.round_trips
            database.close()
            engine.dispose()
        for name in sides:
            ms = [1000 * s for s in seconds[name]]
            rows.append(
                {
                    "rtt_ms": rtt,
                    "trade": name,
                    "round_trips": median(trips[name]),
                    "refused_round_trips": refused[name],
                    "ms": [median(ms), min(ms), max(ms)],
                }
            )
    return rows
