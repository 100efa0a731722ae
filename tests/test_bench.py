"""The bench's smoke run (python -m bench --quick): every question answered, and what does not
depend on the machine holds: round trips on the wire, balances after concurrent trades, rows
loaded, and a round-trip time that really delays each trade.

The quick run needs SQLAlchemy, the bench's own requirement (bench/requirements.txt), which
requirements-test.txt includes so that CI runs every side.
"""

import json
import subprocess
import sys

import pytest

from tests.conftest import PEEWEE_4, ROOT, scrubbed_environ, server_environ

#: Round trips of one trade made and of one refused, counted by the shared test kit's relay (as the
#: bench counts them), each trade as written in bench/trades.py. BEGIN is a round trip in peewee;
#: SQLAlchemy sends none, and its pool sends a ROLLBACK when the trade gives its connection back.
ROUND_TRIPS = {
    # BEGIN, SELECT ... FOR UPDATE, 2 UPDATEs, COMMIT; refused: BEGIN, SELECT, ROLLBACK, then the
    # new transaction txn.rollback() begins and leaving the block commits (BEGIN, COMMIT)
    "lesson": (5, 5),
    # BEGIN, the conditional UPDATE, COMMIT; refused: ROLLBACK for COMMIT
    "one statement": (3, 3),
    # BEGIN, 2 SELECTs, 2 UPDATEs, COMMIT, then the new transaction txn.commit() begins (BEGIN,
    # COMMIT); refused: BEGIN, 2 SELECTs, ROLLBACK, BEGIN, COMMIT
    "docs page": (8, 6),
    # SELECT ... FOR UPDATE, 2 UPDATEs, COMMIT, the pool's ROLLBACK; refused: SELECT, COMMIT,
    # ROLLBACK
    "SQLAlchemy ORM, FOR UPDATE": (5, 3),
    # the conditional UPDATE, COMMIT, the pool's ROLLBACK; refused: ROLLBACK for COMMIT
    "SQLAlchemy ORM, conditional UPDATE": (3, 3),
}


@pytest.fixture(scope="module")
def quick(server, tmp_path_factory):
    """The quick run's (results, table), once for this file; it makes a database of its own."""
    json_path = tmp_path_factory.mktemp("bench") / "results.json"
    env = scrubbed_environ()
    env.update(server_environ(server, "mysql"), CA_PATH=getattr(server, "ca_path", ""))
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(json_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(json_path.read_text()), result.stdout


def test_every_question_is_answered_beside_sqlalchemy(quick):
    results, table = quick
    for title in (
        "Question 1: across the network",
        "Question 2: under load",
        "Question 3: bulk load",
    ):
        assert title in table
    assert {r["trade"] for r in results["network"]} == {
        "lesson",
        "one statement",
        "docs page",
        "SQLAlchemy ORM, FOR UPDATE",
        "SQLAlchemy ORM, conditional UPDATE",
    }
    threads = {r["trade"] for r in results["load"] if r["kind"] == "threads"}
    assert threads == {r["trade"] for r in results["network"]} | {
        "SQLAlchemy Core, FOR UPDATE",
        "SQLAlchemy Core, conditional UPDATE",
    }
    if PEEWEE_4:
        tasks = {r["trade"] for r in results["load"] if r["kind"] == "asyncio tasks"}
        assert tasks == {
            "lesson",
            "one statement",
            "AsyncSession, FOR UPDATE",
            "AsyncSession, conditional UPDATE",
        }
    sides = {r["side"] for r in results["bulk"]}
    assert {"executemany (PyMySQL)", "peewee bulk_create", "SQLAlchemy ORM add_all"} <= sides
    assert "SQLAlchemy Core insert" in sides
    assert len(results["ratios"]) >= 5


def test_round_trips_per_trade(quick):
    results, _ = quick
    if results["machine"].get("tls"):
        pytest.skip("the relay cannot count inside TLS")
    for rtt in {row["rtt_ms"] for row in results["network"]}:
        counted = {
            row["trade"]: (row["round_trips"], row["refused_round_trips"])
            for row in results["network"]
            if row["rtt_ms"] == rtt
        }
        assert counted == ROUND_TRIPS


def test_the_round_trip_time_delays_every_round_trip(quick):
    results, _ = quick
    for row in results["network"]:
        fastest_ms = row["ms"][1]
        assert fastest_ms >= row["round_trips"] * row["rtt_ms"], row


def test_balances_are_checked_after_every_run(quick):
    results, table = quick
    for row in results["load"]:
        assert row["conserved"], row
        assert row["refused"] >= 0 and sum(row["trades_per_s"]) > 0, row
        if row["trade"] != "docs page":  # the one trade that checks balances it did not lock
            assert row["below_zero"] == 0 and row["errors"] == {}, row
    assert "below zero" in table


def test_every_bulk_side_loaded_its_rows(quick):
    results, _ = quick
    for row in results["bulk"]:  # bench/bulk.py counts the rows and stops on a shortfall
        assert row["rows_per_s"][1] > 0 and row["peak_mib"] > 0, row  # all traced in --quick


def test_chart_without_matplotlib_is_refused_before_measuring(tmp_path):
    env = scrubbed_environ()
    env["PYTHONPATH"] = str(tmp_path)  # a matplotlib that cannot be imported
    (tmp_path / "matplotlib.py").write_text("raise ImportError('no matplotlib here')\n")
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--chart", str(tmp_path / "charts")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("error: --chart: ")
    assert "pip install matplotlib" in result.stderr
