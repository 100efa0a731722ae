"""python -m bench [--quick] [--json PATH] [--driver NAME]: every section, a table, a JSON file."""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from peewee import PeeweeException

import peewee_example
from tests.kit.relay import Relay
from tidb_dialect import ConfigError
from tidb_dialect.connection import DRIVERS

from . import bulk, concurrency, dialect, report, roundtrips, wan
from .aio import measure as measure_asyncio
from .measure import quiet
from .server import bench_settings, database_for, describe, installed_drivers

FULL = {
    "sizes": (1919, 20000, 100000),
    "sweep_rows": 10000,
    "sweep_batches": (1, 16, 114, 500, 2000),
    "load_times": {"default": 7, "large": 3, "sweep": 5},
    "threads": (1, 4, 16, 32),
    "window_s": 0.75,
    "trade_times": 3,
    "rtts_s": (0.0, 0.005, 0.010, 0.020, 0.050),
    "rtt_s": 0.020,
    "wan_times": 3,
    "dialect": (7, 100),
    "asyncio_concurrency": (1, 16, 64),
    "asyncio_times": 3,
}
QUICK = {
    "sizes": (100, 1000),
    "sweep_rows": 1000,
    "sweep_batches": (1, 16, 114, 500, 2000),
    "load_times": {"default": 2, "large": 1, "sweep": 1},
    "threads": (1, 4),
    "window_s": 0.2,
    "trade_times": 1,
    "rtts_s": (0.005,),
    "rtt_s": 0.005,
    "wan_times": 1,
    "dialect": (2, 10),
    "asyncio_concurrency": (1, 16),
    "asyncio_times": 1,
}
HERE = Path(__file__).resolve().parent
DEFAULT_JSON = HERE / "results.json"
DEFAULT_CHARTS = HERE / "charts"


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure bulk loads, round trips, concurrent trades and WAN latency "
        "against a private "
        "MariaDB, or the server named by TIDB_HOST and the other TIDB_* settings.",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        help="where to write the results (default: %(default)s)",
    )
    parser.add_argument(
        "--charts",
        type=Path,
        help="draw the charts as PNG files in this folder (needs matplotlib, see "
        "bench/requirements.txt; default: %s for a full run, none for --quick)"
        % DEFAULT_CHARTS.relative_to(HERE.parent),
    )
    parser.add_argument(
        "--driver",
        action="append",
        choices=sorted(DRIVERS),
        help="measure this driver only (repeatable; default: every one installed)",
    )
    return parser.parse_args(argv)


class Progress:
    """One line on stderr per section, and each section's seconds for the results."""

    def __init__(self):
        self.started = self.section_started = time.perf_counter()
        self.seconds = {}
        self.section = None

    def __call__(self, section):
        """Start `section` (None: the last one is over)."""
        now = time.perf_counter()
        if self.section:
            self.seconds[self.section] = round(now - self.section_started, 1)
        self.section, self.section_started = section, now
        if section:
            print("[%5.1f s] %s" % (now - self.started, section), file=sys.stderr, flush=True)


def measure_all(settings, origin, drivers, profile, progress):
    results = {
        "profile": dict(profile),
        "drivers": drivers,
        "load_average_before": os.getloadavg(),
        "bulk_load": {"by_size": [], "batch_sweep": [], "memory": []},
        "round_trips": [],
        "concurrency": [],
        "wan": {"rtt_ms": profile["rtt_s"] * 1000, "skipped": None, "figures": []},
    }
    for driver in drivers:
        database = database_for(settings, driver)
        peewee_example.db.initialize(database)
        results.setdefault("about", describe(database, origin, drivers))
        progress("%s: bulk loads" % driver)
        loads = bulk.run(
            database,
            driver,
            profile["sizes"],
            profile["sweep_rows"],
            profile["sweep_batches"],
            profile["load_times"],
        )
        for key, figures in loads.items():
            results["bulk_load"][key] += figures
        progress("%s: concurrent trades" % driver)
        results["concurrency"] += concurrency.run(
            database, driver, profile["threads"], profile["window_s"], profile["trade_times"]
        )
        database.close()
        if settings.uses_tls:
            # The relay would be a man in the middle: host name verification fails, as it should.
            results["wan"]["skipped"] = (
                "TLS is on: round trips cannot be counted nor delayed by a relay in the "
                "middle (host name verification refuses it); the real network's latency applies"
            )
            continue
        progress("%s: round trips" % driver)
        with Relay(settings.host, settings.port) as relay:
            counted = database_for(settings, driver, host=relay.host, port=relay.port)
            peewee_example.db.initialize(counted)
            results["round_trips"].append(roundtrips.run(counted, relay, settings, driver))
            counted.close()
        progress("%s: WAN latency" % driver)
        results["wan"]["figures"] += wan.run(
            settings, driver, profile["rtts_s"], profile["rtt_s"], profile["wan_times"]
        )
    progress("dialect overhead")
    results["dialect"] = dialect.run(*profile["dialect"])
    progress("asyncio against threads")
    results["asyncio"] = measure_asyncio(settings, profile)
    progress(None)
    results["section_seconds"] = progress.seconds
    results["load_average_after"] = os.getloadavg()
    return results


def unwritable(args):
    """Why the results could not be written where the arguments say, or None: checked before
    the run, which takes minutes."""
    if not args.json.parent.is_dir():
        return "--json: %s is not a folder" % args.json.parent
    if args.json.is_dir():
        return "--json: %s is a folder; name a file" % args.json
    if args.charts and args.charts.exists() and not args.charts.is_dir():
        return "--charts: %s is not a folder" % args.charts
    return None


def main(argv=None):
    args = parse_args(argv)
    problem = unwritable(args)
    if problem:
        print("error: %s" % problem, file=sys.stderr)
        return 2
    profile = QUICK if args.quick else FULL
    drivers = args.driver or installed_drivers()
    folder = args.charts or (None if args.quick else DEFAULT_CHARTS)
    draw = None
    if folder:
        try:
            from .charts import draw
        except ImportError as exc:
            print(
                "error: --charts: %s (pip install -r bench/requirements.txt)" % exc,
                file=sys.stderr,
            )
            return 2
    progress = Progress()
    try:
        with bench_settings() as (settings, origin), quiet():
            results = measure_all(settings, origin, drivers, profile, progress)
    except ConfigError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    except PeeweeException as exc:
        print("error: the database failed: %s" % exc, file=sys.stderr)
        return 1
    results["quick"] = args.quick
    results["elapsed_s"] = round(time.perf_counter() - progress.started, 1)
    print(report.render(results))
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print("results written to %s" % args.json, file=sys.stderr)
    if draw:
        for path in draw(results, folder):
            print("chart written to %s" % path, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
