"""Benchmark 14: the Ray path's overhead (issue 23). The default ``longembed ingest`` of the demo's sample meetings
(``examples/meetings/docs``, 20 meetings) into a fresh store, single-process vs ``--ray`` (a local Ray instance of
this machine's CPUs, started and stopped by the run), alternating, each run a fresh CLI process (model load, Ray
start and stop included: what a user waits for). Also the Ray path's cost per document.

    python perf/perf_ray.py [--runs 2] [--docs examples/meetings/docs]

Target: the Ray run ≤ 1.3× the single-process wall time on 2 local workers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perf_common import REPO, save

DOCS = REPO / "examples" / "meetings" / "docs"


def run(docs: Path, extra: list[str]) -> float:
    """Wall seconds of one ``longembed ingest`` (fresh store, fresh process)."""
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "longembed.cli", "ingest", str(docs), "--store", f"{tmp}/store", "--no-progress",
             *extra],
            env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True,
        )
        seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--docs", type=Path, default=DOCS)
    args = parser.parse_args()
    n_docs = sum(1 for p in args.docs.rglob("*") if p.is_file())
    rows: dict[str, list[float]] = {"single process": [], "--ray (local, 2 CPUs)": []}
    for _ in range(args.runs):
        rows["single process"].append(run(args.docs, []))
        rows["--ray (local, 2 CPUs)"].append(run(args.docs, ["--ray"]))
    single = statistics.median(rows["single process"])
    on_ray = statistics.median(rows["--ray (local, 2 CPUs)"])
    result = {
        "documents": n_docs, "runs": rows,
        "median_seconds": {"single": single, "ray": on_ray}, "ray_over_single": on_ray / single,
        "ray_extra_seconds_per_document": (on_ray - single) / n_docs,
    }
    for name, times in rows.items():
        print(f"{name:24s} median {statistics.median(times):6.1f} s  runs {', '.join(f'{t:.1f}' for t in times)}")
    print(f"ray / single: {on_ray / single:.2f}x (target <= 1.3x); extra {(on_ray - single) / n_docs:.2f} s/document")
    save("perf_ray", result)


if __name__ == "__main__":
    main()
