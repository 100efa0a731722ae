"""python -m bench [--quick] [--json PATH] [--driver NAME]: every section, a table, a JSON file."""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from peewee import PeeweeException

import peewee_example
from tidb_dialect import ConfigError
from tidb_dialect.connection import DRIVERS

from . import bulk, concurrency, report, roundtrips, wan
from .measure import quiet
from .relay import Relay
from .server import bench_settings, database_for, describe, installed_drivers

FULL = {
    "sizes": (1919, 20000, 100000),
    "sweep_rows": 20000,
    "sweep_batches": (1, 16, 114, 500, 2000),
    "load_times": 3,
    "threads": (1, 4, 16, 32),
    "window_s": 0.75,
    "trade_times": 3,
    "rtt_s": 0.020,
    "wan_times": 3,
}
QUICK = {
    "sizes": (100, 1000),
    "sweep_rows": 1000,
    "sweep_batches": (1, 16, 114, 500, 2000),
    "load_times": 1,
    "threads": (1, 4),
    "window_s": 0.2,
    "trade_times": 1,
    "rtt_s": 0.005,
    "wan_times": 1,
}
DEFAULT_JSON = Path(__file__).resolve().parent / "results.json"


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure bulk loads, round trips, concurrent trades and WAN latency against a private "
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
        "bulk_load": {"by_size": [], "batch_sweep": []},
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
        progress("%s: round trips" % driver)
        results["round_trips"].append(roundtrips.run(database, driver))
        progress("%s: concurrent trades" % driver)
        results["concurrency"] += concurrency.run(
            database, driver, profile["threads"], profile["window_s"], profile["trade_times"]
        )
        database.close()
        if settings.uses_tls:
            results["wan"]["skipped"] = (
                "TLS is on: a proxy in the middle would fail host name "
                "verification; the real network's latency applies anyway"
            )
            continue
        progress("%s: WAN latency" % driver)
        with Relay(settings.host, settings.port, rtt=profile["rtt_s"]) as proxy:
            delayed = database_for(settings, driver, host="127.0.0.1", port=proxy.port)
            results["wan"]["figures"] += wan.run(
                delayed, driver, profile["rtt_s"], profile["wan_times"]
            )
    progress(None)
    results["section_seconds"] = progress.seconds
    results["load_average_after"] = os.getloadavg()
    return results


def main(argv=None):
    args = parse_args(argv)
    profile = QUICK if args.quick else FULL
    drivers = args.driver or installed_drivers()
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
