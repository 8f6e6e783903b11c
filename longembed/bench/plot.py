"""synthetic.png of a bench run: score vs context length (log-2 x axis), one panel per synthetic task, one line per
method."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from longembed.bench.summary import int_lengths
from longembed.bench.tasks import task_info

PLOT_FILE = "synthetic.png"
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")


def plot_synthetic(summary: dict[str, Any], path: str | Path) -> Path | None:
    """synthetic.png: one panel per synthetic task, nDCG@1 vs context length (log-2 axis), one line per method.

    Returns the path, or ``None`` when the run has no synthetic task.
    """
    if not summary["per_length"]:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(summary["per_length"])
    methods = summary["methods"]
    fig, axes = plt.subplots(1, len(tasks), figsize=(5.5 * len(tasks), 4.6), squeeze=False)
    for ax, task in zip(axes[0], tasks):
        lengths: set[int] = set()
        by_method = int_lengths(summary["per_length"][task])
        for i, method in enumerate(methods):
            scores = by_method.get(method)
            if not scores:
                continue
            xs = sorted(scores)
            lengths.update(xs)
            # methods often tie: distinct markers and dashes, earlier lines drawn larger, keep each one visible
            ax.plot(
                xs,
                [scores[x] for x in xs],
                label=method,
                marker=MARKERS[i % len(MARKERS)],
                linestyle=LINESTYLES[i % len(LINESTYLES)],
                markersize=9 - 4 * i / max(len(methods) - 1, 1),
                linewidth=1.6,
                alpha=0.85,
            )
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(lengths), [str(n) for n in sorted(lengths)])
        ax.minorticks_off()
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("context length (tokens)")
        ax.set_ylabel("nDCG@1")
        ax.set_title(task_info(task).label)
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 7), fontsize="small", frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
