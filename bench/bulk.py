"""Bulk load: the walkthrough's load_players(), the driver's multi-row INSERT, one INSERT per row.

Every method loads the same rows in one transaction. Each is given its input
in the form its API takes, built before the clock starts: Player objects for
peewee, tuples for the driver.
"""

import uuid
from statistics import median

from peewee_example import BATCH_SIZE, Player, load_players

from .measure import counted, repeat

INSERT = "INSERT INTO player (id, coins, goods) VALUES (%s, %s, %s)"


def ours(db, rows, batch):
    players = [Player(id=id_, coins=coins, goods=goods) for id_, coins, goods in rows]

    def load():
        load_players(players, batch_size=batch)  # the walkthrough's own code

    return load


def raw(db, rows, batch):
    connection = db.connection()

    def load():
        cursor = connection.cursor()
        # Both drivers rewrite executemany() of an INSERT into multi-row INSERTs, but
        # mysqlclient splits them at 64 KiB; lift that so each batch is one statement.
        cursor.max_stmt_length = 1 << 24
        cursor.execute("BEGIN")
        for start in range(0, len(rows), batch):
            cursor.executemany(INSERT, rows[start : start + batch])
        connection.commit()
        cursor.close()

    return load


def naive(db, rows, batch):
    def load():
        with db.atomic():
            for id_, coins, goods in rows:
                Player.create(id=id_, coins=coins, goods=goods)

    return load


NAIVE = "one INSERT per row"
METHODS = {"ours": ours, "raw driver": raw, NAIVE: naive}


def make_rows(count):
    return [(str(uuid.uuid4()), 10000, 10000) for _ in range(count)]


def measure(db, method, rows, batch, times):
    def run():
        db.execute_sql("TRUNCATE TABLE player")
        load = METHODS[method](db, rows, batch)
        seconds, _, statements = counted(db, load)
        loaded = Player.select().count()
        if loaded != len(rows):
            raise AssertionError("%s loaded %d of %d rows" % (method, loaded, len(rows)))
        return {"seconds": seconds, "statements": statements}

    runs = repeat(run, times)
    return {
        "method": method,
        "rows": len(rows),
        "batch": 1 if method == NAIVE else batch,
        "rows_per_s": round(median([len(rows) / r["seconds"] for r in runs])),
        "repetitions": len(runs),
        "statements": runs[0]["statements"],
    }


def run(db, driver, sizes, sweep_rows, sweep_batches, times):
    """Each size at the walkthrough's batch, each batch at `sweep_rows`; ratios to the raw one."""
    db.create_tables([Player])
    rows_by_size = {count: make_rows(count) for count in set(sizes) | {sweep_rows}}
    figures = {}

    def figure(method, count, batch):
        key = (method, count, batch)
        if key not in figures:
            figures[key] = dict(
                measure(db, method, rows_by_size[count], batch, times), driver=driver
            )
        return figures[key]

    by_size = [figure(method, count, BATCH_SIZE) for count in sizes for method in METHODS]
    sweep = [
        figure(method, sweep_rows, batch)
        for batch in sweep_batches
        for method in ("ours", "raw driver")
    ]
    for (_, count, batch), entry in figures.items():
        baseline = figures[("raw driver", count, batch)]
        entry["ratio_to_raw"] = round(entry["rows_per_s"] / baseline["rows_per_s"], 2)
    db.execute_sql("TRUNCATE TABLE player")
    return {"by_size": by_size, "batch_sweep": sweep}
