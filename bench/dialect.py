"""Dialect overhead: rendering statements that are not stale reads, TiDBDatabase against
peewee's MySQLDatabase.

Both databases render the same three queries (a 114-row insert_many, a SELECT with two
joins, an UPDATE) without a server: only the client's work is measured. Within each
repetition they take turns, each timed as the fastest of a few rounds, and each
repetition's ratio is MySQLDatabase's time over TiDBDatabase's (above 1: the dialect is
faster). The same ratio is also taken while a stale query exists, when TiDBDatabase
renders everything through StaleReadContext.
"""

import time
import weakref
from statistics import median

from peewee import SQL, CharField, ForeignKeyField, IntegerField, Model, MySQLDatabase

from tidb_dialect import TiDBDatabase
from tidb_dialect.stale_read import AsOfTimestamp
from tidb_dialect.version import parse_version

ROWS = 114


def models(database):
    class Guild(Model):
        title = CharField()

    class Member(Model):
        handle = CharField()
        coins = IntegerField()
        guild = ForeignKeyField(Guild)

    class Sale(Model):
        seller = ForeignKeyField(Member)
        buyer = ForeignKeyField(Member)
        price = IntegerField()

    for model in (Guild, Member, Sale):
        model._meta.set_database(database)
    return Guild, Member, Sale


def statements(database):
    """The three statements, each a function that renders it (query.sql())."""
    guild, member, sale = models(database)
    rows = [{"handle": "m%d" % n, "coins": n, "guild": 1} for n in range(ROWS)]
    seller = member.alias()
    join = (
        sale.select(sale.price, member.handle, seller.handle, guild.title)
        .join(member, on=(sale.buyer == member.id))
        .join(guild, on=(member.guild == guild.id))
        .switch(sale)
        .join(seller, on=(sale.seller == seller.id))
        .where((sale.price > 10) & (guild.title == "red"))
        .order_by(sale.price.desc())
        .limit(20)
    )
    return {
        "insert_many (%d rows)" % ROWS: lambda: member.insert_many(rows).sql(),
        "select with joins": lambda: join.sql(),
        "update": lambda: (
            member.update(coins=member.coins + 1)
            .where((member.handle == "m1") & (member.coins < 100))
            .sql()
        ),
    }


ROUNDS = 9


def timed(renders, times):
    """Seconds per render of each of `renders`: the fastest of ROUNDS rounds of `times`
    renders, the renders taking turns within each round, so that a moment when the machine
    is busy with other work falls on both and the fastest rounds leave it out."""
    best = [float("inf")] * len(renders)
    for n in range(ROUNDS):
        order = range(len(renders)) if n % 2 else reversed(range(len(renders)))
        for index in order:  # and at going first
            render = renders[index]
            start = time.perf_counter()
            for _ in range(times):
                render()
            best[index] = min(best[index], time.perf_counter() - start)
    return [seconds / times for seconds in best]


def run(repetitions, times):
    tidb = TiDBDatabase("bench", host="127.0.0.1")
    tidb.version = parse_version("8.0.11-TiDB-v7.5.1", None)  # no server: rendering only
    plain = MySQLDatabase("bench")
    ours, theirs = statements(tidb), statements(plain)
    figures = []
    for name in ours:
        assert ours[name]() == theirs[name](), "the two databases render %s differently" % name
        ratios = {"no stale read": [], "while a stale query exists": []}
        seconds = []
        for n in range(repetitions):
            spent = {}
            for stale in (False, True) if n % 2 else (True, False):  # take turns at going first
                clause = AsOfTimestamp(SQL("NOW()")) if stale else None
                live, AsOfTimestamp.live = AsOfTimestamp.live, weakref.WeakSet([clause] * stale)
                try:
                    ours_s, plain_s = timed([ours[name], theirs[name]], times)
                finally:
                    AsOfTimestamp.live = live
                key = "while a stale query exists" if stale else "no stale read"
                ratios[key].append(plain_s / ours_s)
                spent[key] = ours_s
            spent["plain"] = plain_s
            seconds.append(spent)
        figures.append(
            {
                "statement": name,
                "plain_us": round(1e6 * median(s["plain"] for s in seconds), 1),
                "ours_us": round(1e6 * median(s["no stale read"] for s in seconds), 1),
                "repetitions": repetitions,
                **{
                    key: [round(f(values), 3) for f in (median, min, max)]
                    for key, values in ratios.items()
                },
            }
        )
    return figures


if __name__ == "__main__":
    for figure in run(7, 300):
        print(figure)
