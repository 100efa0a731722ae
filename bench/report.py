"""The results as plain-text tables."""


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
            "1. Bulk load: rows/s (median), and as a ratio to the raw driver "
            "at the same batch size",
            ["driver", "rows", "method", "batch", "rows/s", "x raw", "statements", "runs"],
            [
                [
                    e["driver"],
                    e["rows"],
                    e["method"],
                    e["batch"],
                    e["rows_per_s"],
                    x(e["ratio_to_raw"]),
                    e["statements"],
                    e["repetitions"],
                ]
                for e in bulk["by_size"]
            ],
        )
    )
    parts.append(
        table(
            "1b. Batch sizes at %s rows: rows/s (median)" % fmt(bulk["batch_sweep"][0]["rows"]),
            ["driver", "batch", "ours", "raw driver", "x raw", "statements", "runs"],
            [
                [
                    ours["driver"],
                    ours["batch"],
                    ours["rows_per_s"],
                    raw["rows_per_s"],
                    x(ours["ratio_to_raw"]),
                    ours["statements"],
                    "%d/%d" % (ours["repetitions"], raw["repetitions"]),
                ]
                for ours, raw in zip(
                    bulk["batch_sweep"][::2], bulk["batch_sweep"][1::2], strict=True
                )
            ],
        )
    )
    parts.append(
        table(
            "2. Round trips: statements per operation, counted by the server",
            ["driver", "operation", "ours", "public sample"],
            [
                [
                    r["driver"],
                    operation.replace("_", " "),
                    r["statements"]["ours"][operation],
                    r["statements"]["public sample"][operation],
                ]
                for r in results["round_trips"]
                for operation in ("walkthrough", "trade", "refused_trade")
            ],
        )
    )
    parts.append(
        table(
            "3. Concurrent trades (ours): medians of %d runs of %g s each"
            % (results["concurrency"][0]["repetitions"], results["profile"]["window_s"]),
            [
                "driver",
                "rows",
                "threads",
                "trades/s",
                "p50 ms",
                "p99 ms",
                "trades",
                "refused",
                "errors",
                "invariant",
            ],
            [
                [
                    c["driver"],
                    c["rows"],
                    c["threads"],
                    c["trades_per_s"],
                    c["p50_ms"],
                    c["p99_ms"],
                    c["trades"],
                    c["refused"],
                    c["error_count"],
                    c["invariant_held"],
                ]
                for c in results["concurrency"]
            ],
        )
    )
    wan = results["wan"]
    if wan["skipped"]:
        parts.append("4. WAN latency: skipped (%s)" % wan["skipped"])
    else:
        parts.append(
            table(
                "4. WAN latency: wall seconds (median of %d) at %g ms RTT, statements in brackets"
                % (wan["figures"][0]["walkthrough"]["repetitions"], wan["rtt_ms"]),
                ["driver", "pattern", "walkthrough", "trade", "refused trade"],
                [
                    [w["driver"], w["pattern"]]
                    + [
                        "%.3f (%s)" % (w[k]["wall_s"], fmt(w[k]["statements"]))
                        for k in ("walkthrough", "trade", "refused_trade")
                    ]
                    for w in wan["figures"]
                ],
            )
        )
    return "\n\n".join(parts)


def x(ratio):
    return "%.2fx" % ratio
