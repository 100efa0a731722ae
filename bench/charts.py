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


def bulk_by_batch(results, path):
    sweep = results["bulk_load"]["batch_sweep"]
    drivers = results["drivers"]
    figure, axes = plt.subplots(1, len(drivers), figsize=(5.5 * len(drivers), 4), squeeze=False)
    for axis, driver in zip(axes[0], drivers, strict=True):
        mine = [e for e in sweep if e["driver"] == driver]
        for method in dict.fromkeys(e["method"] for e in mine):
            points = [(e["batch"], e["rows_per_s"]) for e in mine if e["method"] == method]
            axis.plot(*zip(*points, strict=True), marker="o", label=method)
        axis.set_xscale("log")
        axis.set_xlabel("rows per INSERT (batch size)")
        axis.set_ylabel("rows per second")
        axis.set_title("%s, %s rows" % (DRIVER_NAMES[driver], f"{mine[0]['rows']:,}"))
        axis.set_ylim(bottom=0)
        axis.grid(True, alpha=0.3)
        axis.legend()
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


def latency_lines(axis, xs, figures, style, label):
    """p50 (circles) and p99 (triangles, paler) of `figures` against `xs`, in one colour."""
    line = axis.plot(xs, [f["p50_ms"] for f in figures], style, marker="o", label=label + ", p50")
    axis.plot(
        xs,
        [f["p99_ms"] for f in figures],
        style,
        marker="^",
        color=line[0].get_color(),
        alpha=0.5,
        label=label + ", p99",
    )


def trades_by_threads(results, path):
    figures = results["concurrency"]
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for rows in dict.fromkeys(f["rows"] for f in figures):
        for driver in results["drivers"]:
            mine = sorted(
                (f for f in figures if f["rows"] == rows and f["driver"] == driver),
                key=lambda f: f["threads"],
            )
            threads = [f["threads"] for f in mine]
            label = "%s rows, %s" % (rows, DRIVER_NAMES[driver])
            axes[0].plot(
                threads, [f["trades_per_s"] for f in mine], STYLE[driver], marker="o", label=label
            )
            latency_lines(axes[1], threads, mine, STYLE[driver], label)
    axes[0].set_ylabel("trades per second (done and refused)")
    axes[1].set_ylabel("latency of one trade (ms)")
    axes[1].set_yscale("log")
    thread_counts = sorted({f["threads"] for f in figures})
    for axis in axes:
        axis.set_xscale("log", base=2)
        axis.set_xticks(thread_counts, [str(n) for n in thread_counts])
        axis.set_xlabel("threads")
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize="small")
    axes[0].set_ylim(bottom=0)
    return save(figure, path)


def asyncio_by_concurrency(results, path):
    figures = results["asyncio"]["figures"]
    levels = [f["concurrency"] for f in figures]
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for side, label in (("threads", "threads, PooledTiDBDatabase"), ("asyncio", "asyncio tasks")):
        axes[0].plot(levels, [f[side]["trades_per_s"] for f in figures], marker="o", label=label)
        latency_lines(axes[1], levels, [f[side] for f in figures], "-", label)
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
