"""One chart a question (python -m bench --chart FOLDER), drawn from the run's results."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def grouped_bars(ax, groups, series, value):
    """Bars of value(group, name) for each group, one colour per name."""
    width = 0.8 / len(series)
    for k, name in enumerate(series):
        xs = [i + k * width for i in range(len(groups))]
        ax.bar(xs, [value(g, name) for g in groups], width, label=name)
    labels = [" ".join(map(str, g)) if isinstance(g, tuple) else str(g) for g in groups]
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(groups))], labels)
    ax.legend(fontsize=7)


def draw(results, folder):
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for name in dict.fromkeys(r["trade"] for r in results["network"]):
        rows = [r for r in results["network"] if r["trade"] == name]
        ax.plot([r["rtt_ms"] for r in rows], [r["ms"][0] for r in rows], marker="o", label=name)
    ax.set(xlabel="round-trip time (ms)", ylabel="ms per trade (median)")
    ax.set_title("1. Across the network")
    ax.legend(fontsize=7)
    paths.append(folder / "1-network.png")

    fig2, ax2 = plt.subplots(figsize=(10, 4.5))
    load = {(r["kind"], r["n"], r["trade"]): r["trades_per_s"][0] for r in results["load"]}
    groups = list(dict.fromkeys((r["kind"], r["n"]) for r in results["load"]))
    names = list(dict.fromkeys(r["trade"] for r in results["load"]))
    grouped_bars(ax2, groups, names, lambda g, name: load.get((*g, name), 0))
    ax2.set(ylabel="trades per second (median)", title="2. Under load")
    paths.append(folder / "2-load.png")

    fig3, ax3 = plt.subplots(figsize=(8, 4.5))
    bulk = {(r["rows"], r["side"]): r["rows_per_s"][0] for r in results["bulk"]}
    sizes = list(dict.fromkeys(r["rows"] for r in results["bulk"]))
    sides = list(dict.fromkeys(r["side"] for r in results["bulk"]))
    grouped_bars(ax3, sizes, sides, lambda size, side: bulk[size, side])
    ax3.set(xlabel="players loaded", ylabel="rows per second (median)", title="3. Bulk load")

    paths.append(folder / "3-bulk.png")
    for figure, path in zip((fig, fig2, fig3), paths, strict=True):
        figure.tight_layout()
        figure.savefig(path, dpi=90)
        plt.close(figure)
    return paths
