"""The benchmark's smoke run (python -m bench --quick): every section is there and holds up.

Figures of speed are not checked here; what is checked does not depend on
the machine: the statements the server counted, the balances after the
concurrent trades, and that the simulated network really delayed.
"""

import json
import math
import os
import subprocess
import sys

from tests.conftest import ROOT, server_environ
from tidb_dialect.connection import DRIVERS


def run_quick_bench(server, database_name, json_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TIDB_") and k not in ("CA_PATH", "DATABASE_URL")
    }
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
    assert drivers and set(drivers) <= set(DRIVERS)
    for title in ("1. Bulk load", "2. Round trips", "3. Concurrent trades", "4. WAN latency"):
        assert title in table
    counted_by_server = "TiDB" not in results["about"]["server"]["version"]

    loads = results["bulk_load"]["by_size"] + results["bulk_load"]["batch_sweep"]
    assert {e["driver"] for e in loads} == set(drivers)
    assert {e["batch"] for e in results["bulk_load"]["batch_sweep"]} == {1, 16, 114, 500, 2000}
    for entry in loads:
        assert entry["rows_per_s"] > 0 and entry["repetitions"] >= 1
        if counted_by_server:
            # One INSERT per batch (or per row), inside BEGIN ... COMMIT: the same batching for all.
            assert entry["statements"] == math.ceil(entry["rows"] / entry["batch"]) + 2, entry
        if entry["method"] == "raw driver":
            assert entry["ratio_to_raw"] == 1.0

    assert [r["driver"] for r in results["round_trips"]] == drivers
    for figures in results["round_trips"]:
        assert figures["same_final_state"]
        ours, public = figures["statements"]["ours"], figures["statements"]["public sample"]
        if counted_by_server:
            assert 0 < ours["trade"] <= 5 and 0 < ours["refused_trade"] <= 3
            for operation in ("walkthrough", "trade", "refused_trade"):
                assert ours[operation] < public[operation]
        else:
            assert ours["trade"] is None  # TiDB has no per-session statement counter

    assert {c["driver"] for c in results["concurrency"]} == set(drivers)
    assert {c["rows"] for c in results["concurrency"]} == {"hot", "spread"}
    for figure in results["concurrency"]:
        assert figure["trades"] > 0 and figure["error_count"] == 0, figure
        assert figure["invariant_held"], figure

    wan = results["wan"]
    if wan["skipped"]:
        assert getattr(server, "ca_path", "")  # only a TLS server skips it
        return
    assert {w["driver"] for w in wan["figures"]} == set(drivers)
    by_pattern = {
        (r["driver"], name): s
        for r in results["round_trips"]
        for name, s in r["statements"].items()
    }
    for figure in wan["figures"]:
        for operation in ("walkthrough", "trade", "refused_trade"):
            measured = figure[operation]
            # Through the proxy the server counts what it counted without it...
            assert (
                measured["statements"] == by_pattern[figure["driver"], figure["pattern"]][operation]
            )
            # ...and each statement waited for at least one simulated round trip.
            if measured["statements"]:
                assert measured["wall_s"] >= measured["statements"] * wan["rtt_ms"] / 1000, figure
