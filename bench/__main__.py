"""python -m bench [--quick] [--json PATH] [--chart FOLDER]: the three questions, one run."""

import argparse
import json
import sys
import time
from pathlib import Path

from peewee import PeeweeException

from tidb_dialect import ConfigError

from . import bulk, load, network
from .measure import quiet
from .server import bench_settings, describe

FULL = {
    "rtts_ms": [0, 1, 5, 20, 50],
    "network_trades": {0: 30, 1: 30, 5: 15, 20: 7, 50: 5},
    "threads": [1, 4, 16],
    "tasks": [16, 64],
    "seconds": 1.0,
    "repeats": 9,
    "bulk_sizes": [1919, 20000, 100000],
    "bulk_repeats": 3,
    "bulk_least_rows": 100000,
}
QUICK = {
    "rtts_ms": [0, 5],
    "network_trades": {0: 3, 5: 2},
    "threads": [1, 4],
    "tasks": [4],
    "seconds": 0.3,
    "repeats": 1,
    "bulk_sizes": [300],
    "bulk_repeats": 1,
    "bulk_least_rows": 0,
}
PAIRS = [  # (ours, SQLAlchemy doing the same work the same way)
    ("lesson", "SQLAlchemy ORM, FOR UPDATE"),
    ("one statement", "SQLAlchemy ORM, conditional UPDATE"),
    ("lesson", "AsyncSession, FOR UPDATE"),
    ("one statement", "AsyncSession, conditional UPDATE"),
]


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run of seconds")
    parser.add_argument("--json", type=Path, default=Path("bench/results.json"))
    parser.add_argument("--chart", type=Path, metavar="FOLDER", help="draw one chart a question")
    return parser.parse_args(argv)


def measure(settings, profile, log):
    results = {}
    log("question 1: across the network")
    trades_at = profile["network_trades"]
    results["network"] = [
        row for rtt in profile["rtts_ms"] for row in network.run(settings, [rtt], trades_at[rtt])
    ]
    log("question 2: under load")
    results["load"] = load.run(
        settings, profile["threads"], profile["tasks"], profile["seconds"], profile["repeats"]
    )
    log("question 3: bulk load")
    results["bulk"] = bulk.run(
        settings, profile["bulk_sizes"], profile["bulk_repeats"], profile["bulk_least_rows"]
    )
    results["ratios"] = ratios(results)
    return results


def ratios(results):
    """Ours over SQLAlchemy's, each beside the side doing the same work the same way."""
    out = []
    for kind, n in sorted({(r["kind"], r["n"]) for r in results["load"]}):
        rows = {r["trade"]: r for r in results["load"] if (r["kind"], r["n"]) == (kind, n)}
        for ours, theirs in PAIRS:
            if ours in rows and theirs in rows:
                a, b = rows[ours], rows[theirs]
                out.append(
                    {
                        "what": "%s, %s %d vs %s" % (ours, kind, n, theirs),
                        "throughput": a["trades_per_s"][0] / b["trades_per_s"][0],
                        "cpu": b["cpu_us_per_trade"][0] / a["cpu_us_per_trade"][0],
                    }
                )
    for size in sorted({r["rows"] for r in results["bulk"]}):
        rows = {r["side"]: r for r in results["bulk"] if r["rows"] == size}
        sqlalchemy = [r for side, r in rows.items() if side.startswith("SQLAlchemy")]
        b = max(sqlalchemy, key=lambda r: r["rows_per_s"][0])  # SQLAlchemy's fastest
        for ours in ("peewee bulk_create", "peewee insert_many", "dialect FastBulkCreate"):
            if ours in rows:
                a = rows[ours]
                out.append(
                    {
                        "what": "%s, %d rows vs %s" % (ours, size, b["side"]),
                        "throughput": a["rows_per_s"][0] / b["rows_per_s"][0],
                        "cpu": b["cpu_us_per_row"] / a["cpu_us_per_row"],
                    }
                )
    return out


def render(results):
    lines = [
        "Question 1: across the network (ms per trade: median [min-max]; round trips, refused)"
    ]
    for r in results["network"]:
        lines.append(
            "  rtt %2d ms  %-36s %4.1f rt (%d)  %8.2f ms [%.2f-%.2f]"
            % (r["rtt_ms"], r["trade"], r["round_trips"], r["refused_round_trips"], *r["ms"])
        )
    lines.append("Question 2: under load (trades/s median [min-max]; client CPU us/trade; checks)")
    for r in results["load"]:
        errors = ", ".join("%s %d" % e for e in r["errors"].items()) or "no errors"
        lines.append(
            "  %-13s %2d  %-36s %6.0f [%.0f-%.0f]  %5.0f us  %s, %d below zero, %s"
            % (
                r["kind"],
                r["n"],
                r["trade"],
                *r["trades_per_s"],
                r["cpu_us_per_trade"][0],
                "conserved" if r["conserved"] else "NOT CONSERVED",
                r["below_zero"],
                errors,
            )
        )
    lines.append("Question 3: bulk load (rows/s median [min-max]; client CPU us/row; peak MiB)")
    for r in results["bulk"]:
        lines.append(
            "  %6d rows  %-26s %8.0f [%.0f-%.0f]  %5.1f us  %s"
            % (r["rows"], r["side"], *r["rows_per_s"], r["cpu_us_per_row"], mib(r["peak_mib"]))
        )
    lines.append("Ours over SQLAlchemy (throughput; client CPU)")
    for r in results["ratios"]:
        cpu = "  cpu %.2fx" % r["cpu"] if "cpu" in r else ""
        lines.append("  %-72s %.2fx%s" % (r["what"], r["throughput"], cpu))
    return "\n".join(lines)


def mib(peak):
    return "not traced" if peak is None else "%6.1f MiB" % peak


def main(argv=None):
    args = parse_args(argv)
    if args.chart:
        try:
            from .charts import draw
        except ImportError as exc:
            print("error: --chart: %s (pip install matplotlib)" % exc, file=sys.stderr)
            return 2
    started = time.perf_counter()

    def log(message):
        print("[%5.1f s] %s" % (time.perf_counter() - started, message), file=sys.stderr)

    try:
        with bench_settings() as (settings, origin), quiet():
            results = {"machine": describe(settings, origin), "quick": args.quick}
            results.update(measure(settings, QUICK if args.quick else FULL, log))
    except ConfigError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    except PeeweeException as exc:
        print("error: the database failed: %s" % exc, file=sys.stderr)
        return 1
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    with open("/proc/loadavg") as loadavg:
        results["machine"]["load_after"] = loadavg.read().split()[:3]
    print(render(results))
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    log("results written to %s" % args.json)
    if args.chart:
        for path in draw(results, args.chart):
            log("chart written to %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
