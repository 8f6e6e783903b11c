"""The bench report: results.json (every number), report.md (tables shaped like LongEmbed's Table 3) and
synthetic.png (score vs context length, one line per method, log-2 x axis)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from longembed.bench.localisation import METRIC as LOCALISATION
from longembed.bench.localisation import localisation_table, summarise_localisation
from longembed.bench.markdown import pct as _pct
from longembed.bench.markdown import table as _table
from longembed.bench.results import BenchRun
from longembed.bench.tasks import SYNTHETIC_METRIC, TASKS, task_info

RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"
PLOT_FILE = "synthetic.png"
MIB = 1 << 20
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")


def _task_order(names: set[str]) -> list[str]:
    known = [t for t in TASKS if t in names]
    return known + sorted(names - set(known))


def summarise(run: BenchRun) -> dict[str, Any]:
    """Aggregate the cells of ``run``.

    Returns a dict with:
        ``tasks``: task names in Table 3 order; ``methods``: method names in run order;
        ``scores``: method -> task -> main score (synthetic: mean nDCG@1 over the scored lengths; real: nDCG@10),
        plus ``"avg"`` (mean over the tasks);
        ``per_length``: synthetic task -> method -> {length: nDCG@1};
        ``real``: real task -> method -> {metric: value};
        ``cost``: method -> encode seconds, seconds this run, tokens, tokens per second, index vectors and
        bytes, search seconds, queries (summed over the cells);
        ``localisation``: synthetic task -> passage method -> {length: loc@1} (see
        :mod:`longembed.bench.localisation`).
    """
    cells = run.results
    methods = list(dict.fromkeys(c.method for c in cells))
    tasks = _task_order({c.task for c in cells})
    scores: dict[str, dict[str, float]] = {}
    per_length: dict[str, dict[str, dict[int, float]]] = {}
    real: dict[str, dict[str, dict[str, float]]] = {}
    cost: dict[str, dict[str, float]] = {}
    for method in methods:
        mine = [c for c in cells if c.method == method]
        scores[method] = {}
        for task in tasks:
            task_cells = [c for c in mine if c.task == task]
            if not task_cells:
                continue
            scores[method][task] = statistics.fmean(c.main_score for c in task_cells)
            if task_cells[0].kind == "synthetic":
                per_length.setdefault(task, {})[method] = {c.context_length: c.main_score for c in task_cells}
            else:
                real.setdefault(task, {})[method] = dict(task_cells[0].metrics)
        if scores[method]:
            scores[method]["avg"] = statistics.fmean(v for k, v in scores[method].items())
        seconds = sum(c.encode_seconds for c in mine)
        tokens = sum(c.tokens for c in mine)
        cost[method] = {
            "encode_seconds": seconds,
            "encode_seconds_this_run": sum(c.encode_seconds_this_run for c in mine),
            "tokens": tokens,
            "tokens_per_second": tokens / seconds if seconds > 0 else None,
            "index_vectors": sum(sum(c.index_vectors.values()) for c in mine),
            "index_bytes": sum(c.index_bytes for c in mine),
            "search_seconds": sum(c.search_seconds for c in mine),
            "queries": sum(c.n_queries for c in mine),
        }
    return {"tasks": tasks, "methods": methods, "scores": scores, "per_length": per_length, "real": real, "cost": cost,
            "localisation": summarise_localisation(cells)}


def write_results(run: BenchRun, out: str | Path) -> Path:
    """Write ``results.json`` (scores in [0, 1], times in seconds, sizes in bytes)."""
    path = Path(out) / RESULTS_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(run.to_dict(summarise(run)), indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def _bold_best(values: dict[str, float | None]) -> dict[str, str]:
    present = [v for v in values.values() if v is not None]
    best = max(present) if present else None
    return {k: (f"**{_pct(v)}**" if v is not None and best is not None and v == best and len(present) > 1 else _pct(v))
            for k, v in values.items()}


def _int_lengths(by_method: dict[str, dict[Any, float]]) -> dict[str, dict[int, float]]:
    """Context lengths as ints (JSON turns them into strings)."""
    return {m: {int(n): v for n, v in scores.items()} for m, scores in by_method.items()}


def main_table(summary: dict[str, Any]) -> list[str]:
    """Rows = methods, columns = each task's main score (×100), then Avg; the best of a column in bold."""
    columns = [*summary["tasks"], "avg"]
    header = ["Method", *(task_info(t).label for t in summary["tasks"]), "Avg"]
    cells = {col: _bold_best({m: summary["scores"][m].get(col) for m in summary["methods"]}) for col in columns}
    return _table(header, [[m, *(cells[col][m] for col in columns)] for m in summary["methods"]])


def per_length_tables(summary: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for task, raw in summary["per_length"].items():
        by_method = _int_lengths(raw)
        lengths = sorted({n for scores in by_method.values() for n in scores})
        lines += ["", f"### {task_info(task).label} (nDCG@1 ×100 per context length in tokens)", ""]
        columns: dict[Any, dict[str, str]] = {
            n: _bold_best({m: by_method.get(m, {}).get(n) for m in summary["methods"]}) for n in lengths
        }
        columns["avg"] = _bold_best({m: summary["scores"][m].get(task) for m in summary["methods"]})
        rows = [[m, *(columns[n][m] for n in [*lengths, "avg"])] for m in summary["methods"] if m in by_method]
        lines += _table(["Method", *map(str, lengths), "Avg"], rows)
    return lines


def real_tables(summary: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for task, by_method in summary["real"].items():
        lines += ["", f"### {task_info(task).label} (×100)", ""]
        rows = [
            [m, _pct(v["ndcg@10"]), _pct(v["ndcg@1"]), _pct(v["recall@10"])] for m, v in by_method.items()
        ]
        lines += _table(["Method", "nDCG@10", "nDCG@1", "Recall@10"], rows)
    return lines


def cost_table(summary: dict[str, Any], kinds: dict[str, str]) -> list[str]:
    rows = []
    for m in summary["methods"]:
        c = summary["cost"][m]
        tps = c["tokens_per_second"]
        rows.append(
            [m, kinds.get(m, ""), f"{c['encode_seconds']:.1f}", f"{tps:.0f}" if tps else "–", str(c["tokens"]),
             str(c["index_vectors"]), f"{c['index_bytes'] / MIB:.2f}", f"{c['search_seconds']:.1f}"]
        )
    return _table(
        ["Method", "Kind", "Encode s", "Tokens/s", "Tokens", "Vectors", "Index MiB", "Search s"], rows
    )


def compare_table(summary: dict[str, Any], kinds: dict[str, str]) -> list[str]:
    """Long-context methods, then chunked baselines: Avg, the gap to ``none`` and to ``chunked-maxp`` (points
    ×100), encode time and index size."""
    chunked = ("chunked", "passage")
    order = [m for m in summary["methods"] if kinds.get(m) not in chunked] + [
        m for m in summary["methods"] if kinds.get(m) in chunked
    ]
    scores = summary["scores"]

    def gap(m: str, ref: str) -> str:
        if ref not in scores or "avg" not in scores.get(m, {}) or "avg" not in scores[ref]:
            return "–"
        return f"{100 * (scores[m]['avg'] - scores[ref]['avg']):+.1f}"

    rows = [
        [m, kinds.get(m, ""), *(_pct(scores[m].get(t)) for t in summary["tasks"]), _pct(scores[m].get("avg")),
         gap(m, "none"), gap(m, "chunked-maxp"), f"{summary['cost'][m]['encode_seconds']:.1f}",
         f"{summary['cost'][m]['index_bytes'] / MIB:.2f}"]
        for m in order
    ]
    header = ["Method", "Kind", *(task_info(t).label for t in summary["tasks"]), "Avg", "Δ none", "Δ chunked-maxp",
              "Encode s", "Index MiB"]
    return _table(header, rows)


def headline(summary: dict[str, Any]) -> list[str]:
    """One line per task and for Avg: the best method, its score, and its lead over ``none`` and ``chunked-maxp``."""
    lines = []
    scores = summary["scores"]
    for col in [*summary["tasks"], "avg"]:
        have = {m: s[col] for m, s in scores.items() if col in s}
        if not have:
            continue
        best = max(have, key=lambda m: have[m])
        leads = [
            f"{100 * (have[best] - have[ref]):+.1f} over {ref}"
            for ref in ("none", "chunked-maxp", "bm25")
            if ref in have and ref != best
        ]
        label = "Avg" if col == "avg" else task_info(col).label
        lines.append(f"- **{label}**: {best} {_pct(have[best])}" + (f" ({', '.join(leads)})" if leads else ""))
    return lines


def render_markdown(data: dict[str, Any], plot: bool) -> str:
    """report.md from the dict of results.json."""
    cfg, env, summary, model = data["config"], data["environment"], data["summary"], data.get("model", {})
    kinds = {m: d["kind"] for m, d in data["methods"].items()}
    lengths = cfg["lengths"] or "all in the data"
    sources = "; ".join(f"{t}: `{s}`" for t, s in data["data_sources"].items())
    versions = ", ".join(f"{k} {v}" for k, v in env["versions"].items())
    machine = env["machine"]
    lines = [
        f"# LongEmbed bench: {cfg['model']}",
        "",
        (
            f"- Date: {env['date']}; machine: {machine['platform']}, {machine['cpu_count']} CPUs, device "
            f"{model.get('device', '?')} ({model.get('dtype', cfg.get('dtype'))})"
        ),
        (
            f"- Model: `{cfg['model']}` ({model.get('position_encoding')} positions, "
            f"L_o = {model.get('original_length')} tokens, d = {model.get('dimension')}); "
            f"max length L_t = {cfg['max_length']} tokens"
        ),
        "- Methods: " + ", ".join(f"{m} ({d['summary']})" for m, d in data["methods"].items()),
        f"- Data: {sources}",
        f"- Context lengths: {lengths}; queries per task/length: {cfg['limit'] or 'all'}; "
        f"documents per task/length: {cfg['max_docs'] or 'all'}"
        + (" (**corpus cut: retrieval is easier than on the full set**)" if cfg["max_docs"] else ""),
        f"- Versions: {versions}",
    ]
    if cfg.get("command"):
        lines.append(f"- Command: `{cfg['command']}`")
    if not data.get("complete", True):
        lines.append("- **Partial run**: interrupted before every method and task finished.")
    lines += [
        "",
        "## Scores",
        "",
        f"Synthetic tasks: mean {SYNTHETIC_METRIC} over the context lengths; real tasks: nDCG@10. All ×100.",
        "",
        *main_table(summary),
        "",
        "Best per column:",
        "",
        *headline(summary),
    ]
    if summary["per_length"]:
        lines += ["", "## Synthetic tasks per context length", *per_length_tables(summary)]
        if plot:
            lines += ["", f"![score vs context length]({PLOT_FILE})"]
    if summary.get("localisation"):
        caption = (f"{LOCALISATION}: share of queries whose top-1 document is the relevant one and whose best passage "
                   "holds the pass key / the whole needle sentence; passage methods only. ×100.")
        lines += ["", "## Passage localisation", "", caption, "", *localisation_table(summary["localisation"])]
    if summary["real"]:
        lines += ["", "## Real tasks", *real_tables(summary)]
    lines += [
        "",
        "## Cost",
        "",
        (
            "Encode s: time to embed the documents (as measured when computed; cached ones count with their "
            "recorded time); Vectors / Index MiB: float32 vectors stored in Qdrant (`doc`, plus `chunks` for "
            "chunked-maxp and the passage methods); Search s: query encoding + search."
        ),
        "",
        *cost_table(summary, kinds),
    ]
    if cfg.get("compare"):
        lines += ["", "## Long-context vs chunked", "", *compare_table(summary, kinds)]
    skipped = [
        f"- {m['task']}" + (f"@{m['context_length']}" if "context_length" in m else "") + f": {m['reason']}"
        for m in data["missing"]
    ] + [f"- method {m['method']}: {m['reason']}" for m in data["skipped_methods"]]
    if skipped:
        lines += ["", "## Skipped", "", *skipped]
    return "\n".join(lines) + "\n"


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
        by_method = _int_lengths(summary["per_length"][task])
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


def write_report(run: BenchRun, out: str | Path) -> dict[str, Path]:
    """Write results.json, synthetic.png (when there are synthetic tasks) and report.md into ``out``."""
    out = Path(out)
    written = {"results": write_results(run, out)}
    data = json.loads(written["results"].read_text())
    plot = plot_synthetic(data["summary"], out / PLOT_FILE)
    if plot is not None:
        written["plot"] = plot
    report = out / REPORT_FILE
    report.write_text(render_markdown(data, plot is not None))
    written["report"] = report
    return written
