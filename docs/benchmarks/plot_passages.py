"""Plot the passage granularity × vector mode grid of docs/benchmarks/passages_grid.py.

One panel per task (rows) and context length (columns); one group of bars per passage granularity, one bar per
vector mode (naive, late, window-late), height Acc@1 (right document first); the dashed line is the whole-document
``doc`` vector of the same encoder. Reads the grid's JSON (``task|length|granularity|mode`` -> ``{"acc1", "loc",
"doc_acc1", "n", ...}``; the ``end-to-end`` entries are left out).

Run::

    python docs/benchmarks/plot_passages.py   # docs/benchmarks/results/passages-grid.json -> docs/benchmarks/passages-grid.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

HERE = Path(__file__).parent


def plot(results: dict[str, dict], out: Path) -> Path:
    """Write the grid's PNG to ``out`` and return it."""
    cells = {tuple(k.split("|")): v for k, v in results.items() if "end-to-end" not in k}
    tasks = list(dict.fromkeys(t for t, _, _, _ in cells))
    lengths = sorted({int(n) for _, n, _, _ in cells})
    modes = list(dict.fromkeys(m for _, _, _, m in cells))
    fig, axes = plt.subplots(len(tasks), len(lengths), figsize=(5.2 * len(lengths), 3.3 * len(tasks)), squeeze=False)
    width = 0.8 / len(modes)
    for row, task in enumerate(tasks):
        grans = list(dict.fromkeys(g for t, _, g, _ in cells if t == task))
        for col, length in enumerate(lengths):
            ax = axes[row][col]
            here = {(g, m): v for (t, n, g, m), v in cells.items() if t == task and int(n) == length}
            for i, mode in enumerate(modes):
                xs = [j + (i - (len(modes) - 1) / 2) * width for j in range(len(grans))]
                ys = [here[g, mode]["acc1"] if (g, mode) in here else 0.0 for g in grans]
                ax.bar(xs, ys, width, label=mode)
            doc = next((v["doc_acc1"] for v in here.values()), None)
            if doc is not None:
                ax.axhline(doc, color="black", linestyle="--", linewidth=1, label="whole document (doc)")
            n = next((v["n"] for v in here.values()), 0)
            ax.set_title(f"{task}, {length} tokens ({n} queries)", fontsize="medium")
            ax.set_xticks(range(len(grans)), [g.replace(" windows", "\nwindows") for g in grans], fontsize="small")
            ax.set_ylim(0, 1.05)
            ax.set_ylabel("Acc@1")
            ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=HERE / "results" / "passages-grid.json")
    parser.add_argument("--out", type=Path, default=HERE / "passages-grid.png")
    args = parser.parse_args()
    print(plot(json.loads(args.results.read_text()), args.out))


if __name__ == "__main__":
    main()
