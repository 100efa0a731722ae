"""Bulk load: the walkthrough's load_players() next to peewee's own bulk_create and the driver.

Every method loads the same rows, in batches, in one transaction, and its
timed region starts from the same list of values: it includes building what
its API takes (Player objects for peewee, tuples for the driver), since an
application pays for that too. The load alone (objects built beforehand, as
older versions of this bench timed it) is kept apart, to show where the
time goes. Building 100,000 objects before the first batch costs more per
object than building 114 at a time (Python's garbage collector walks every
live object now and then), so "ours, objects per batch" makes each batch's
objects just before sending it, and "ours, from a generator" hands bulk_create()
a generator of objects, which it reads one batch at a time.

The peak of memory (tracemalloc) is measured apart, in one untimed run per
method at the largest size: what building and loading the rows allocates,
the list of values they all start from excluded.

The methods run in turn within each repetition, in a rotating order, and
each one's speed is divided by the driver's executemany() of the same
repetition: the ratio is taken where both saw the same machine, and its
spread over the repetitions is kept.
"""

import tracemalloc
import uuid
from statistics import median

from peewee import CharField, IntegerField, Model, chunked

from peewee_example import Player, db, load_players

from .measure import questions, timed

INSERT = "INSERT INTO player (id, coins, goods) VALUES "
ROW = "(%s, %s, %s)"
BASELINE = "executemany"


class PeeweePlayer(Model):
    """peewee_example.Player on peewee's own Model: bulk_create renders every value."""

    id = CharField(max_length=36, primary_key=True)
    coins = IntegerField()
    goods = IntegerField()

    class Meta:
        database = db
        table_name = "player"


def players(values):
    return [Player(id=i, coins=c, goods=g) for i, c, g in values]


def peewee_players(values):
    return [PeeweePlayer(id=i, coins=c, goods=g) for i, c, g in values]


def tuples(values):
    return [(i, c, g) for i, c, g in values]


def ours(database, players, batch):
    with database.atomic():  # the walkthrough loads inside its reset's transaction
        load_players(players, batch_size=batch)  # the walkthrough's own code


def ours_per_batch(database, values, batch):
    """ours, with each batch's objects made just before it is sent: few are alive at once."""
    with database.atomic():
        for part in chunked(values, batch):
            Player.bulk_create([Player(id=i, coins=c, goods=g) for i, c, g in part])


def ours_generator(database, values, batch):
    """TiDBModel.bulk_create() given a generator: it makes one batch of objects at a time."""
    with database.atomic():
        made = (Player(id=i, coins=c, goods=g) for i, c, g in values)
        Player.bulk_create(made, batch_size=batch)


def peewee(database, players, batch):
    with database.atomic():
        for part in chunked(players, batch):
            PeeweePlayer.bulk_create(part)


def executemany(database, rows, batch):
    with driver_transaction(database) as cursor:
        # Both drivers turn executemany() of an INSERT into multi-row INSERTs, but
        # mysqlclient splits them at 64 KiB; lift that so each batch is one statement.
        cursor.max_stmt_length = 1 << 24
        for start in range(0, len(rows), batch):
            cursor.executemany(INSERT + ROW, rows[start : start + batch])


def execute(database, rows, batch):
    statements = {}
    with driver_transaction(database) as cursor:
        for start in range(0, len(rows), batch):
            part = rows[start : start + batch]
            if len(part) not in statements:
                statements[len(part)] = INSERT + ", ".join([ROW] * len(part))
            cursor.execute(statements[len(part)], [v for row in part for v in row])


class driver_transaction:
    """The driver's cursor inside BEGIN ... COMMIT (ROLLBACK on error)."""

    def __init__(self, database):
        self.connection = database.connection()

    def __enter__(self):
        self.cursor = self.connection.cursor()
        self.cursor.execute("BEGIN")
        return self.cursor

    def __exit__(self, exc_type, *exc_info):
        if exc_type is None:
            self.connection.commit()
        else:
            self.connection.rollback()
        self.cursor.close()


#: Each method, by the name the report uses: (build its input from the values, load it).
METHODS = {
    "ours": (players, ours),
    "ours, objects per batch": (list, ours_per_batch),
    "ours, from a generator": (list, ours_generator),
    "peewee bulk_create": (peewee_players, peewee),
    BASELINE: (tuples, executemany),
    "execute": (tuples, execute),
}


def make_values(count):
    return [(str(uuid.uuid4()), 10000, 10000) for _ in range(count)]


def one_run(database, method, values, batch):
    database.execute_sql("TRUNCATE TABLE player")
    build, load = METHODS[method]
    before = questions(database)
    build_seconds, built = timed(lambda: build(values))
    load_seconds, _ = timed(lambda: load(database, built, batch))
    after = questions(database)
    loaded = Player.select().count()
    if loaded != len(values):
        raise AssertionError("%s loaded %d of %d rows" % (method, loaded, len(values)))
    # The SHOW that reads the counter counts itself once.
    statements = None if before is None else after - before - 1
    return {
        "rows_per_s": len(values) / (build_seconds + load_seconds),
        "load_rows_per_s": len(values) / load_seconds,
        "build_us_per_row": 1e6 * build_seconds / len(values),
        "statements": statements,
    }


#: The methods whose peak of memory is measured.
MEMORY = ("ours", "ours, from a generator", BASELINE)


def peak_memory(database, method, values, batch):
    """MiB that building and loading `values` by `method` allocated at its peak."""
    database.execute_sql("TRUNCATE TABLE player")
    build, load = METHODS[method]
    tracemalloc.start()
    try:
        load(database, build(values), batch)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return {"method": method, "rows": len(values), "batch": batch, "peak_mib": peak / 2**20}


def interleaved(database, values, batch, times):
    """`times` repetitions of every method, in a rotating order; per-method figures."""
    names = list(METHODS)
    runs = {name: [] for name in names}
    for repetition in range(times):
        shift = repetition % len(names)
        for name in names[shift:] + names[:shift]:
            runs[name].append(one_run(database, name, values, batch))
    figures = []
    for name in names:
        rates = [r["rows_per_s"] for r in runs[name]]
        figure = {
            "method": name,
            "rows": len(values),
            "batch": batch,
            "rows_per_s": round(median(rates)),
            "build_us_per_row": round(median(r["build_us_per_row"] for r in runs[name]), 2),
            "repetitions": times,
            "statements": runs[name][0]["statements"],
        }
        for baseline, key, speed in (
            (BASELINE, "x_executemany", "rows_per_s"),
            ("execute", "x_execute", "rows_per_s"),
            (BASELINE, "x_executemany_load_only", "load_rows_per_s"),
        ):
            ratios = [
                mine[speed] / theirs[speed]
                for mine, theirs in zip(runs[name], runs[baseline], strict=True)
            ]
            figure[key] = spread(ratios)
        figures.append(figure)
    return figures


def spread(ratios):
    return {
        "median": round(median(ratios), 2),
        "low": round(min(ratios), 2),
        "high": round(max(ratios), 2),
    }


def run(database, driver, sizes, sweep_rows, sweep_batches, times):
    """Each size at the walkthrough's batch of 114, and each batch size at `sweep_rows` rows."""
    database.create_tables([Player])
    values = {count: make_values(count) for count in set(sizes) | {sweep_rows}}
    by_size = []
    for count in sizes:
        repetitions = times["large"] if count >= 100000 else times["default"]
        by_size += interleaved(database, values[count], 114, repetitions)
    sweep = []
    for batch in sweep_batches:
        sweep += interleaved(database, values[sweep_rows], batch, times["sweep"])
    memory = [peak_memory(database, m, values[max(sizes)], 114) for m in MEMORY]
    database.execute_sql("TRUNCATE TABLE player")
    for figure in by_size + sweep + memory:
        figure["driver"] = driver
    return {"by_size": by_size, "batch_sweep": sweep, "memory": memory}
