"""Question 3, bulk load: rows per second and peak memory, N new players in one transaction.

The sides take turns within each repetition, in a rotating order, each into an empty table.
ORM sides make their model objects inside the timing, as an application does; the others are
handed tuples or dicts. Peak memory is tracemalloc's, in a run of its own, up to TRACED rows.
"""

import time
import tracemalloc
import uuid
from statistics import median

import sqlalchemy as sa
from peewee import CharField, IntegerField, Model, chunked
from sqlalchemy.orm import Session

import peewee_example
import tidb_dialect
from peewee_example import Player, db

from . import trades
from .load import rotate

#: Peak memory is traced up to this many rows (tracing slows a run; memory grows with the rows).
TRACED = 20000
PEEWEE_BATCH = 1000  # peewee's docs batch bulk_create; without a batch size it sends one INSERT


class PlainPlayer(Model):
    """The Player model on plain peewee.Model, without the dialect's bulk_create."""

    id = CharField(max_length=36, primary_key=True)
    coins = IntegerField()
    goods = IntegerField()

    class Meta:
        database = db
        table_name = "player"


FIELDS = [PlainPlayer.id, PlainPlayer.coins, PlainPlayer.goods]


def executemany(rows, engine):
    with db.atomic():
        cursor = db.cursor()
        cursor.executemany("INSERT INTO player (id, coins, goods) VALUES (%s, %s, %s)", rows)


def peewee_bulk_create(rows, engine):
    with db.atomic():
        PlainPlayer.bulk_create(
            [PlainPlayer(id=i, coins=c, goods=g) for i, c, g in rows], PEEWEE_BATCH
        )


def peewee_insert_many(rows, engine):
    """peewee's own way for speed (its docs): insert_many() of tuples, no model objects."""
    with db.atomic():
        for batch in chunked(rows, PEEWEE_BATCH):
            PlainPlayer.insert_many(batch, fields=FIELDS).execute()


def fast_bulk_create(rows, engine):
    with db.atomic():
        Player.bulk_create([Player(id=i, coins=c, goods=g) for i, c, g in rows])


def sqlalchemy_orm(rows, engine):
    with Session(engine) as s, s.begin():
        s.add_all([trades.SaPlayer(id=i, coins=c, goods=g) for i, c, g in rows])


def sqlalchemy_core(rows, engine):
    with engine.begin() as conn:
        conn.execute(
            sa.insert(trades.TABLE), [{"id": i, "coins": c, "goods": g} for i, c, g in rows]
        )


SIDES = {
    "executemany (PyMySQL)": executemany,
    "peewee bulk_create": peewee_bulk_create,
    "peewee insert_many": peewee_insert_many,
    "SQLAlchemy ORM add_all": sqlalchemy_orm,
    "SQLAlchemy Core insert": sqlalchemy_core,
}
if issubclass(Player, getattr(tidb_dialect, "FastBulkCreate", ())):
    SIDES["dialect FastBulkCreate"] = fast_bulk_create


def one(side, rows, engine, trace=False):
    db.execute_sql("TRUNCATE TABLE player")
    if trace:
        tracemalloc.start()
    cpu, started = time.process_time(), time.perf_counter()
    side(rows, engine)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    loaded = db.execute_sql("SELECT COUNT(*) FROM player").fetchone()[0]
    if loaded != len(rows):
        raise RuntimeError("%d rows loaded, %d given" % (loaded, len(rows)))
    return seconds, cpu, peak


def run(settings, sizes, repeats, least_rows):
    """Each size `repeats` times, or more, until every side has loaded `least_rows` rows: a small
    load lasts some milliseconds, and one pause of the machine's would decide its median."""
    database = settings.build_database()
    peewee_example.db.initialize(database)
    trades.seed(0, 0, 0)
    engine = trades.engine(settings)
    results = []
    for size in sizes:
        rows = [(str(uuid.uuid4()), 10000, 10000) for _ in range(size)]
        rates, cpus = {name: [] for name in SIDES}, {name: [] for name in SIDES}
        for rep in range(max(repeats, -(-least_rows // size))):
            for name in rotate(SIDES, rep):
                seconds, cpu, _ = one(SIDES[name], rows, engine)
                rates[name].append(size / seconds)
                cpus[name].append(1e6 * cpu / size)
        for name, side in SIDES.items():
            peak = one(side, rows, engine, trace=True)[2] if size <= TRACED else None
            r = rates[name]
            results.append(
                {
                    "rows": size,
                    "side": name,
                    "rows_per_s": [median(r), min(r), max(r)],
                    "cpu_us_per_row": median(cpus[name]),
                    "peak_mib": peak and peak / 2**20,
                }
            )
    engine.dispose()
    database.close()
    return results
