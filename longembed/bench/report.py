"""The bench report folder: writes results.json (every number), then report.md (:mod:`longembed.bench.report_markdown`)
and synthetic.png (:mod:`longembed.bench.plot`) from it.

The summary and the renderers live in their own modules; their public names are importable from here as before.
"""

from __future__ import annotations

import json
from pathlib import Path

from longembed.bench.plot import LINESTYLES, MARKERS, PLOT_FILE, plot_synthetic
from longembed.bench.report_markdown import (
    MIB, compare_table, cost_table, headline, main_table, per_length_tables, real_tables, render_markdown,
)
from longembed.bench.results import BenchRun
from longembed.bench.summary import summarise

__all__ = [
    "LINESTYLES", "MARKERS", "MIB", "PLOT_FILE", "REPORT_FILE", "RESULTS_FILE", "compare_table", "cost_table",
    "headline", "main_table", "per_length_tables", "plot_synthetic", "real_tables", "render_markdown", "summarise",
    "write_report", "write_results",
]

RESULTS_FILE = "results.json"
REPORT_FILE = "report.md"


def write_results(run: BenchRun, out: str | Path) -> Path:
    """Write ``results.json`` (scores in [0, 1], times in seconds, sizes in bytes)."""
    path = Path(out) / RESULTS_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(run.to_dict(summarise(run)), indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


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
