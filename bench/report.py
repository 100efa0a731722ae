"""The results as plain-text tables."""

#: The bulk methods whose ratios the batch-size table shows (bench/bulk.py METHODS).
OURS = ("ours", "ours, objects per batch")


def table(title, headers, rows):
    cells = [[str(c) for c in headers]] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [title, "-" * len(title)]
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.rjust(w) if n and is_number(c) else c.ljust(w)
                for c, w in zip(row, widths, strict=True)
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def fmt(value):
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "held" if value else "VIOLATED"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def is_number(text):
    return text.replace(",", "").replace(".", "").replace("x", "").isdigit()


def render(results):
    about, versions = results["about"], results["about"]["versions"]
    parts = [
        "Machine: %d CPUs, %s, %s"
        % (about["machine"]["cpus"], about["machine"]["cpu_model"], about["machine"]["platform"]),
        "Software: " + ", ".join("%s %s" % item for item in versions.items()),
        "Server: %s (%s)" % (about["server"]["version"], about["server"]["origin"]),
        "Run: %s profile, %.0f s; load average %.2f before, %.2f after"
        % (
            "quick" if results["quick"] else "full",
            results["elapsed_s"],
            results["load_average_before"][0],
            results["load_average_after"][0],
        ),
    ]
    parts = ["\n".join(parts)]
    bulk = results["bulk_load"]
    parts.append(
        table(
            "1. Bulk load at batch 114: rows/s (median), building the input included; ratios to "
            "the driver's executemany and to one multi-row execute per batch, taken within each "
            "repetition: median [lowest-highest]; load only: objects built beforehand; build: "
            "making the objects or tuples",
            [
                "driver",
                "rows",
                "method",
                "rows/s",
                "x executemany",
                "x execute",
                "x executemany, load only",
                "build us/row",
                "statements",
                "runs",
            ],
            [
                [
                    e["driver"],
                    e["rows"],
                    e["method"],
                    e["rows_per_s"],
                    ratio(e["x_executemany"]),
                    ratio(e["x_execute"]),
                    ratio(e["x_executemany_load_only"]),
                    e["build_us_per_row"],
                    e["statements"],
                    e["repetitions"],
                ]
                for e in bulk["by_size"]
            ],
        )
    )
    sweep = bulk["batch_sweep"]
    methods = list(dict.fromkeys(e["method"] for e in sweep))
    keys = list(dict.fromkeys((e["driver"], e["batch"]) for e in sweep))
    by_key = {(e["driver"], e["batch"], e["method"]): e for e in sweep}
    parts.append(
        table(
            "1b. Batch sizes at %s rows: rows/s (median of %d)"
            % (fmt(sweep[0]["rows"]), sweep[0]["repetitions"]),
            ["driver", "batch", *methods, *("%s x executemany" % m for m in OURS)],
            [
                [driver, batch]
                + [by_key[driver, batch, m]["rows_per_s"] for m in methods]
                + [ratio(by_key[driver, batch, m]["x_executemany"]) for m in OURS]
                for driver, batch in keys
            ],
        )
    )
    memory = bulk["memory"]
    parts.append(
        table(
            "1c. Peak memory at %s rows, batch 114 (tracemalloc: what building and loading "
            "allocated, the list of values excluded)" % fmt(memory[0]["rows"]),
            ["driver", "method", "peak MiB"],
            [[e["driver"], e["method"], e["peak_mib"]] for e in memory],
        )
    )
    if results["round_trips"]:
        rows = []
        for r in results["round_trips"]:
            operations = r["operations"]
            for operation in ("trade", "refused_trade", "walkthrough"):
                rows.append(
                    [r["driver"], operation.replace("_", " ")]
                    + [trips(operations[p][operation]) for p in ("ours", "public sample")]
                )
            pools = r["pool_request"]
            rows.append(
                [
                    r["driver"],
                    "pool checkout + return",
                    trips(pools["ours"]),
                    trips(pools.get("playhouse")),
                ]
            )
        parts.append(
            table(
                "2. Round trips on the wire (statements among them), per operation",
                ["driver", "operation", "ours", "public sample / playhouse pool"],
                rows,
            )
        )
    else:
        parts.append("2. Round trips: skipped (%s)" % results["wan"]["skipped"])
    concurrency = results["concurrency"]
    parts.append(
        table(
            "3. Concurrent trades: ours and the driver alone sending the same statements, in "
            "turns; medians of %d runs of %g s [lowest-highest]; ratios to the driver alone "
            "taken within each repetition; CPU: the client process's, per trade"
            % (concurrency[0]["repetitions"], results["profile"]["window_s"]),
            [
                "driver",
                "players",
                "threads",
                "pattern",
                "trades/s",
                "x driver",
                "CPU us/trade",
                "x driver CPU",
                "p50 ms",
                "p99 ms",
                "refused",
                "errors",
                "invariant",
            ],
            [
                [
                    c["driver"],
                    c["rows"],
                    c["threads"],
                    c["pattern"],
                    "%s [%s-%s]" % tuple(map(fmt, [c["trades_per_s"], *c["trades_per_s_range"]])),
                    ratio(c["x_driver_trades_per_s"]),
                    c["cpu_us_per_trade"],
                    ratio(c["x_driver_cpu_per_trade"]),
                    "%s [%s-%s]" % tuple(map(fmt, [c["p50_ms"], *c["p50_ms_range"]])),
                    "%s [%s-%s]" % tuple(map(fmt, [c["p99_ms"], *c["p99_ms_range"]])),
                    "%.0f%%" % (100 * c["refused"] / max(c["trades"], 1)),
                    c["error_count"],
                    c["invariant_held"],
                ]
                for c in concurrency
            ],
        )
    )
    wan = results["wan"]
    if wan["skipped"]:
        parts.append("4. WAN latency: skipped (%s)" % wan["skipped"])
    else:
        parts.append(
            table(
                "4. WAN latency: wall ms (median of %d), round trips in brackets"
                % wan["figures"][0]["trade"]["repetitions"],
                ["driver", "pattern", "RTT ms", "trade", "refused trade", "walkthrough"],
                [
                    [w["driver"], w["pattern"], w["rtt_ms"]]
                    + [
                        "%.1f (%d)" % (w[k]["wall_ms"], w[k]["round_trips"]) if k in w else ""
                        for k in ("trade", "refused_trade", "walkthrough")
                    ]
                    for w in wan["figures"]
                ],
            )
        )
    dialect = results["dialect"]
    parts.append(
        table(
            "5. Dialect overhead: rendering without a server, MySQLDatabase's time over "
            "TiDBDatabase's (above 1: ours is faster), median [lowest-highest] of %d "
            "repetitions, taken within each" % dialect[0]["repetitions"],
            [
                "statement",
                "MySQLDatabase us",
                "TiDBDatabase us",
                "no stale read",
                "while a stale query exists",
            ],
            [
                [
                    d["statement"],
                    d["plain_us"],
                    d["ours_us"],
                    "%.3fx [%.3f-%.3f]" % tuple(d["no stale read"]),
                    "%.3fx [%.3f-%.3f]" % tuple(d["while a stale query exists"]),
                ]
                for d in dialect
            ],
        )
    )
    parts.append(asyncio_table(results["asyncio"]))
    return "\n\n".join(parts)


def asyncio_table(section):
    if section["skipped"]:
        return "6. asyncio against threads: skipped (%s)" % section["skipped"]
    sides = ("threads", "asyncio", "aiomysql alone")
    return table(
        "6. asyncio tasks (AsyncTiDBDatabase) against threads (PooledTiDBDatabase, PyMySQL) and "
        "aiomysql alone, %d players: medians of %d runs; asyncio's ratios within each run"
        % (section["figures"][0]["players"], section["figures"][0]["repetitions"]),
        [
            "concurrency",
            "trades/s: threads, asyncio, aiomysql alone",
            "x threads",
            "x aiomysql alone",
            "CPU us/trade: asyncio, aiomysql alone",
            "x CPU",
            "p50/p99 ms: threads, asyncio, aiomysql alone",
            "x p50 threads",
            "errors",
            "invariant",
        ],
        [
            [
                a["concurrency"],
                ", ".join("%.0f" % a[side]["trades_per_s"] for side in sides),
                ratio(a["x_trades_per_s"]),
                ratio(a["x_driver_trades_per_s"]),
                "%d, %d"
                % (a["asyncio"]["cpu_us_per_trade"], a["aiomysql alone"]["cpu_us_per_trade"]),
                ratio(a["x_driver_cpu_us_per_trade"]),
                ", ".join("%.2f/%.2f" % (a[side]["p50_ms"], a[side]["p99_ms"]) for side in sides),
                ratio(a["x_p50_ms"]),
                sum(a[side]["error_count"] for side in sides),
                all(a[side]["invariant_held"] for side in sides),
            ]
            for a in section["figures"]
        ],
    )


def ratio(spread):
    return "%.2fx [%.2f-%.2f]" % (spread["median"], spread["low"], spread["high"])


def trips(counts):
    if counts is None:
        return None
    return "%d (%d)" % (counts["round_trips"], counts["statements"])
