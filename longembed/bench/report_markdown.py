"""report.md of a bench run, from the dict of results.json: tables shaped like LongEmbed's Table 3 (scores, per
context length, passage localisation, real tasks, cost, long-context vs chunked) and the best method per column."""

from __future__ import annotations

from typing import Any

from longembed.bench.localisation import METRIC as LOCALISATION
from longembed.bench.localisation import localisation_table
from longembed.bench.markdown import pct as _pct
from longembed.bench.markdown import table as _table
from longembed.bench.plot import PLOT_FILE
from longembed.bench.summary import int_lengths
from longembed.bench.tasks import SYNTHETIC_METRIC, task_info

MIB = 1 << 20


def _bold_best(values: dict[str, float | None]) -> dict[str, str]:
    present = [v for v in values.values() if v is not None]
    best = max(present) if present else None
    return {k: (f"**{_pct(v)}**" if v is not None and best is not None and v == best and len(present) > 1 else _pct(v))
            for k, v in values.items()}


def main_table(summary: dict[str, Any]) -> list[str]:
    """Rows = methods, columns = each task's main score (×100), then Avg; the best of a column in bold."""
    columns = [*summary["tasks"], "avg"]
    header = ["Method", *(task_info(t).label for t in summary["tasks"]), "Avg"]
    cells = {col: _bold_best({m: summary["scores"][m].get(col) for m in summary["methods"]}) for col in columns}
    return _table(header, [[m, *(cells[col][m] for col in columns)] for m in summary["methods"]])


def per_length_tables(summary: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for task, raw in summary["per_length"].items():
        by_method = int_lengths(raw)
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
