"""The benchmark's smoke run (python -m bench --quick): every section is there and holds up.

Figures of speed are not checked here; what is checked does not depend on
the machine: the round trips the relay counted, the statements the server
counted, the balances after the concurrent trades, and that the simulated
network really delayed. The quick run draws no charts: matplotlib is the
bench's own requirement (bench/requirements.txt), not the tests'.
"""

import asyncio
import json
import math
import subprocess
import sys

import pytest

import peewee_example
from bench.concurrency import SCARCE, invariant
from bench.plain import PlainTrade
from peewee_example import Player, trade
from tests.conftest import (
    DRIVER_MODULES,
    PEEWEE_4,
    ROOT,
    relayed_database,
    scrubbed_environ,
    server_environ,
)


def run_quick_bench(server, database_name, json_path):
    env = scrubbed_environ()
    env.update(server_environ(server, database_name), CA_PATH=getattr(server, "ca_path", ""))
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(json_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(json_path.read_text()), result.stdout


def test_quick_run_reports_every_section(server, database_name, tmp_path):
    results, table = run_quick_bench(server, database_name, tmp_path / "results.json")
    drivers = results["drivers"]
    assert drivers and set(drivers) <= set(DRIVER_MODULES)
    for title in (
        "1. Bulk load",
        "1c. Peak memory",
        "2. Round trips",
        "3. Concurrent trades",
        "4. WAN latency",
        "5. Dialect overhead",
    ):
        assert title in table
    counted_by_server = "TiDB" not in results["about"]["server"]["version"]

    loads = results["bulk_load"]["by_size"] + results["bulk_load"]["batch_sweep"]
    assert {e["driver"] for e in loads} == set(drivers)
    assert {e["method"] for e in loads} == {
        "ours",
        "ours, objects per batch",
        "ours, from a generator",
        "peewee bulk_create",
        "executemany",
        "execute",
    }
    assert {e["batch"] for e in results["bulk_load"]["batch_sweep"]} == {1, 16, 114, 500, 2000}
    for entry in loads:
        assert entry["rows_per_s"] > 0 and entry["repetitions"] >= 1
        if counted_by_server:
            # One INSERT per batch, inside BEGIN ... COMMIT: the same batching for every method.
            assert entry["statements"] == math.ceil(entry["rows"] / entry["batch"]) + 2, entry
        # Ratios are taken within each repetition, so a baseline's own are exactly 1.
        if entry["method"] in ("executemany", "execute"):
            assert entry["x_" + entry["method"]] == {"median": 1.0, "low": 1.0, "high": 1.0}
        spread = entry["x_executemany"]
        assert spread["low"] <= spread["median"] <= spread["high"]

    tls = bool(getattr(server, "ca_path", ""))
    assert [r["driver"] for r in results["round_trips"]] == ([] if tls else drivers)
    for figures in results["round_trips"]:
        assert figures["same_final_state"]
        ours, public = figures["operations"]["ours"], figures["operations"]["public sample"]
        for operation in ("walkthrough", "trade", "refused_trade"):
            assert 0 < ours[operation]["round_trips"] < public[operation]["round_trips"]
        pools = figures["pool_request"]
        # A warm checkout and return: nothing on the wire, but mysqlclient's ROLLBACK.
        assert pools["ours"]["round_trips"] == (1 if figures["driver"] == "mysqlclient" else 0)
        if "playhouse" in pools:
            assert pools["playhouse"]["round_trips"] > pools["ours"]["round_trips"]

    memory = results["bulk_load"]["memory"]
    assert [(m["driver"], m["method"]) for m in memory] == [
        (d, m) for d in drivers for m in ("ours", "ours, from a generator", "executemany")
    ]

    assert {c["driver"] for c in results["concurrency"]} == set(drivers)
    assert {c["rows"] for c in results["concurrency"]} == {"hot", "spread", "ample"}
    assert {c["pattern"] for c in results["concurrency"]} == {"ours", "driver alone"}
    for figure in results["concurrency"]:
        assert figure["trades"] > 0 and figure["error_count"] == 0, figure
        assert figure["invariant_held"], figure
        if figure["pattern"] == "driver alone":  # the baseline's own ratios
            assert figure["x_driver_trades_per_s"] == {"median": 1.0, "low": 1.0, "high": 1.0}
    # Two players starting with 5 goods run out: refusals are part of the load; ample ones never.
    assert all(c["refused"] > 0 for c in results["concurrency"] if c["rows"] == "hot")
    assert all(c["refused"] == 0 for c in results["concurrency"] if c["rows"] == "ample")

    assert [d["statement"] for d in results["dialect"]] == [
        "insert_many (114 rows)",
        "select with joins",
        "update",
    ]

    section = results["asyncio"]
    if PEEWEE_4:
        assert section["skipped"] is None and "6. asyncio tasks" in table
        assert [a["concurrency"] for a in section["figures"]] == [1, 16]
        for entry in section["figures"]:
            for side in ("threads", "asyncio", "aiomysql alone"):
                assert entry[side]["trades"] > 0 and entry[side]["error_count"] == 0, entry
                assert entry[side]["invariant_held"], entry
            for key in ("x_trades_per_s", "x_driver_trades_per_s", "x_driver_cpu_us_per_trade"):
                spread = entry[key]
                assert 0 < spread["low"] <= spread["median"] <= spread["high"], (key, entry)
    else:  # peewee 3.17: the section says why it did not run
        assert section["skipped"].startswith("peewee: AsyncTiDBDatabase and arun_transaction")
        assert "6. asyncio against threads: skipped (peewee: " in table

    wan = results["wan"]
    if wan["skipped"]:
        assert tls  # only a TLS server skips it
        return
    assert {w["driver"] for w in wan["figures"]} == set(drivers)
    by_pattern = {
        (r["driver"], name): counts
        for r in results["round_trips"]
        for name, counts in r["operations"].items()
    }
    for figure in wan["figures"]:
        # The walkthrough is timed at one RTT only, the trades at each.
        for operation in [o for o in ("walkthrough", "trade", "refused_trade") if o in figure]:
            measured = figure[operation]
            # Through the slow relay, the same round trips as through the counting one...
            expected = by_pattern[figure["driver"], figure["pattern"]][operation]
            assert measured["round_trips"] == expected["round_trips"]
            # ...and each of them waited for at least one simulated round-trip time.
            assert measured["wall_ms"] >= measured["round_trips"] * figure["rtt_ms"], figure


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--json", "{tmp}/missing/results.json"], "error: --json: {tmp}/missing is not a folder"),
        (["--json", "{tmp}"], "error: --json: {tmp} is a folder; name a file"),
        (["--charts", "{tmp}/file"], "error: --charts: {tmp}/file is not a folder"),
    ],
)
def test_a_place_it_cannot_write_to_stops_it_before_it_measures(tmp_path, arguments, message):
    (tmp_path / "file").write_text("")
    arguments = [a.format(tmp=tmp_path) for a in arguments]
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", *arguments],
        cwd=ROOT,
        env=scrubbed_environ(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == message.format(tmp=tmp_path) + "\n"


#: What a done trade and then a refused one send, by the first word of each statement.
DONE_THEN_REFUSED = ["BEGIN", "UPDATE", "COMMIT", "BEGIN", "UPDATE", "ROLLBACK"]


def kinds(statements):
    return [statement.split(" ")[0] for statement in statements]


def test_the_driver_alone_sends_what_trade_sends(mysql_db, relay, server, database_name, driver):
    """The concurrency baseline (bench/plain.py): the same statements, byte for byte,
    for a trade that happens and one that is refused."""
    with Player.bind_ctx(mysql_db):
        mysql_db.create_tables([Player])
    relayed = relay(server)
    database = relayed_database(relayed, server, database_name, driver)
    peewee_example.db.initialize(database)
    try:
        plain = PlainTrade(database)
        sent = {}
        for name, trade_function in (("ours", trade), ("driver alone", plain)):
            mysql_db.execute_sql("DELETE FROM player")
            mysql_db.execute_sql("INSERT INTO player VALUES ('1', 100, 0), ('2', 500, 20)")
            relayed.reset()
            assert trade_function("2", "1", 2, 100) is True
            assert trade_function("2", "1", 10, 500) is False
            sent[name] = relayed.statements
        assert sent["ours"] == sent["driver alone"]
        assert kinds(sent["ours"]) == [*DONE_THEN_REFUSED, "SELECT"]  # the refusal's read
    finally:
        peewee_example.db.initialize(None)
        database.close()


@pytest.mark.pwasyncio
def test_aiomysql_alone_sends_what_the_asyncio_trade_sends(mysql_db, relay, server, database_name):
    """The asyncio baseline (bench/aio.py): aiomysql alone sends the statements of
    exchange() in arun_transaction(), byte for byte, for a trade that happens and one refused."""
    from bench.aio import DriverTasks, PeeweeTasks

    with Player.bind_ctx(mysql_db):
        mysql_db.create_tables([Player])
    relayed = relay(server)
    database = relayed_database(relayed, server, database_name)

    async def two_trades(tasks):
        await tasks.start()
        relayed.reset()
        try:
            return [await tasks.trade("2", "1", 2, 100), await tasks.trade("2", "1", 10, 500)]
        finally:
            await tasks.stop()

    try:
        sent = {}
        for side in (PeeweeTasks, DriverTasks):
            mysql_db.execute_sql("DELETE FROM player")
            mysql_db.execute_sql("INSERT INTO player VALUES ('1', 100, 0), ('2', 500, 20)")
            assert asyncio.run(two_trades(side(database, 1))) == [True, False]
            sent[side] = list(relayed.statements)
            assert {p.id: (p.coins, p.goods) for p in Player.select().bind(mysql_db)} == {
                "1": (0, 2),
                "2": (600, 18),
            }
        assert sent[PeeweeTasks] == sent[DriverTasks]
        assert kinds(sent[PeeweeTasks]) == DONE_THEN_REFUSED
    finally:
        peewee_example.db.initialize(None)
        database.close()


def test_the_concurrency_invariant_compares_balances_with_the_reported_trades(player_db):
    """Totals kept and nothing negative is not enough: each balance is its start plus the
    trades reported as done, so a trade done but reported refused (or the reverse) shows."""
    ids = ["p0", "p1"]
    Player.insert_many(
        [(id_, *SCARCE) for id_ in ids], fields=[Player.id, Player.coins, Player.goods]
    ).execute()
    Player.update(coins=SCARCE[0] - 10, goods=SCARCE[1] + 1).where(Player.id == "p0").execute()
    Player.update(coins=SCARCE[0] + 10, goods=SCARCE[1] - 1).where(Player.id == "p1").execute()
    reported = {"p0": (-10, 1), "p1": (10, -1)}  # p0 bought 1 good from p1 for 10 coins
    assert invariant(player_db, ids, reported, SCARCE)["held"]
    assert invariant(player_db, ids, {}, SCARCE) == {
        "held": False,
        "conserved": True,
        "non_negative": True,
        "matches_reported_trades": False,
    }
