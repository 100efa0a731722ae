"""The results as PNG charts (matplotlib, bench/requirements.txt), for bench/README.md."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt

DRIVER_NAMES = {"pymysql": "PyMySQL", "mysqlclient": "mysqlclient"}
STYLE = {"pymysql": "-", "mysqlclient": "--"}


def draw(results, folder):
    """Write every chart into `folder`; return their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [bulk_by_batch(results, folder / "bulk-by-batch.png")]
    if results["wan"]["figures"]:
        paths.append(trade_by_rtt(results, folder / "trade-by-rtt.png"))
    paths.append(trades_by_threads(results, folder / "trades-by-threads.png"))
    if results["asyncio"]["figures"]:
        paths.append(asyncio_by_concurrency(results, folder / "asyncio-by-concurrency.png"))
    return paths


def save(figure, path):
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def bars(spreads):
    """matplotlib's yerr for medians and their lowest and highest."""
    return [
        [s["median"] - s["low"] for s in spreads],
        [s["high"] - s["median"] for s in spreads],
    ]


def bulk_by_batch(results, path):
    """Each method's speed as a ratio to executemany, taken within each repetition."""
    sweep = results["bulk_load"]["batch_sweep"]
    drivers = results["drivers"]
    figure, axes = plt.subplots(1, len(drivers), figsize=(5.5 * len(drivers), 4), squeeze=False)
    for axis, driver in zip(axes[0], drivers, strict=True):
        mine = [e for e in sweep if e["driver"] == driver]
        for method in dict.fromkeys(e["method"] for e in mine):
            points = [e for e in mine if e["method"] == method]
            spreads = [e["x_executemany"] for e in points]
            axis.errorbar(
                [e["batch"] for e in points],
                [s["median"] for s in spreads],
                yerr=bars(spreads),
                marker="o",
                capsize=3,
                label=method,
            )
        axis.axhline(1.0, color="grey", linewidth=0.8)
        axis.set_xscale("log")
        axis.set_xlabel("rows per INSERT (batch size)")
        axis.set_ylabel("speed / executemany's (median, lowest-highest)")
        axis.set_title("%s, %s rows" % (DRIVER_NAMES[driver], f"{mine[0]['rows']:,}"))
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize="small")
    return save(figure, path)


def trade_by_rtt(results, path):
    figures = results["wan"]["figures"]
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for axis, operation, title in zip(
        axes,
        ("trade", "refused_trade"),
        ("a trade that happens", "a refused trade"),
        strict=True,
    ):
        for pattern in dict.fromkeys(f["pattern"] for f in figures):
            for driver in results["drivers"]:
                points = sorted(
                    (f["rtt_ms"], f[operation]["wall_ms"])
                    for f in figures
                    if f["pattern"] == pattern and f["driver"] == driver
                )
                round_trips = next(
                    f[operation]["round_trips"]
                    for f in figures
                    if f["pattern"] == pattern and f["driver"] == driver
                )
                axis.plot(
                    *zip(*points, strict=True),
                    STYLE[driver],
                    marker="o",
                    label="%s, %s (%d round trips)" % (pattern, DRIVER_NAMES[driver], round_trips),
                )
        axis.set_xlabel("network round-trip time (ms)")
        axis.set_ylabel("wall time (ms)")
        axis.set_title(title)
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize="small")
    return save(figure, path)


def trades_by_threads(results, path):
    """Per set of players: trades/s (min-max bars) and p50/p99, ours and the driver alone."""
    figures = results["concurrency"]
    sets = list(dict.fromkeys(f["rows"] for f in figures))
    figure, axes = plt.subplots(2, len(sets), figsize=(5 * len(sets), 7.5), squeeze=False)
    thread_counts = sorted({f["threads"] for f in figures})
    for column, rows in enumerate(sets):
        top, bottom = axes[0][column], axes[1][column]
        for pattern in dict.fromkeys(f["pattern"] for f in figures):
            for driver in results["drivers"]:
                mine = sorted(
                    (
                        f
                        for f in figures
                        if (f["rows"], f["pattern"], f["driver"]) == (rows, pattern, driver)
                    ),
                    key=lambda f: f["threads"],
                )
                threads = [f["threads"] for f in mine]
                label = "%s, %s" % (pattern, DRIVER_NAMES[driver])
                rate = [f["trades_per_s"] for f in mine]
                line = top.errorbar(
                    threads,
                    rate,
                    yerr=[
                        [r - f["trades_per_s_range"][0] for r, f in zip(rate, mine, strict=True)],
                        [f["trades_per_s_range"][1] - r for r, f in zip(rate, mine, strict=True)],
                    ],
                    fmt=STYLE[driver],
                    marker="o",
                    capsize=3,
                    label=label,
                )
                color = line[0].get_color()
                for key, marker, alpha in (("p50", "o", 1.0), ("p99", "^", 0.5)):
                    bottom.plot(
                        threads,
                        [f[key + "_ms"] for f in mine],
                        STYLE[driver],
                        marker=marker,
                        color=color,
                        alpha=alpha,
                        label="%s, %s" % (label, key),
                    )
        top.set_title("%s players" % rows)
        top.set_ylabel("trades per second (done and refused)")
        top.set_ylim(bottom=0)
        bottom.set_ylabel("latency of one trade (ms)")
        bottom.set_yscale("log")
        for axis in (top, bottom):
            axis.set_xscale("log", base=2)
            axis.set_xticks(thread_counts, [str(n) for n in thread_counts])
            axis.set_xlabel("threads")
            axis.grid(True, alpha=0.3)
            axis.legend(fontsize="x-small")
    return save(figure, path)


def asyncio_by_concurrency(results, path):
    figures = results["asyncio"]["figures"]
    levels = [f["concurrency"] for f in figures]
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for side, label in (
        ("threads", "threads, PooledTiDBDatabase"),
        ("asyncio", "asyncio tasks, AsyncTiDBDatabase"),
        ("aiomysql alone", "asyncio tasks, aiomysql alone"),
    ):
        line = axes[0].plot(
            levels, [f[side]["trades_per_s"] for f in figures], marker="o", label=label
        )
        for key, marker, alpha in (("p50", "o", 1.0), ("p99", "^", 0.5)):
            axes[1].plot(
                levels,
                [f[side][key + "_ms"] for f in figures],
                marker=marker,
                color=line[0].get_color(),
                alpha=alpha,
                label="%s, %s" % (label, key),
            )
    axes[0].set_ylabel("trades per second (done and refused)")
    axes[1].set_ylabel("latency of one trade (ms): p50, p99")
    axes[1].set_yscale("log")
    for axis in axes:
        axis.set_xscale("log", base=2)
        axis.set_xticks(levels, [str(n) for n in levels])
        axis.set_xlabel("concurrent threads or tasks")
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize="small")
    axes[0].set_ylim(bottom=0)
    return save(figure, path)
