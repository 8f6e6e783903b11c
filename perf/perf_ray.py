"""Benchmark 14: the Ray path's overhead (issue 23). The default ``longembed ingest`` of the demo's sample meetings
(``examples/meetings/docs``, 20 meetings) into a fresh store, single-process vs ``--ray`` (a local Ray instance of
this machine's CPUs, started and stopped by the run), alternating, each run a fresh CLI process (model load, Ray
start and stop included: what a user waits for). Also the Ray path's cost per document.

    python perf/perf_ray.py [--runs 2] [--docs examples/meetings/docs]

Target: the Ray run ≤ 1.3× the single-process wall time on 2 local workers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perf_common import REPO, save

DOCS = REPO / "examples" / "meetings" / "docs"


def child(mode: str, docs: Path, out: Path) -> None:
    """In a fresh process: one default ingest of ``docs`` (``mode``: ``single`` or ``ray``) into a fresh store;
    writes its wall seconds (imports, model load, Ray start and stop included) and stage seconds as JSON."""
    began = time.perf_counter()
    from longembed.ingest import RayOptions, ingest
    from longembed.settings import IndexSettings
    from longembed.ingest.run import IngestRun
    from longembed.store import open_store

    build = IngestRun.build_points
    built = {"seconds": 0.0}

    def timed_build(self, *args, **kwargs):  # the driver's serial share: points from vectors (tolist, payloads)
        start = time.perf_counter()
        try:
            return build(self, *args, **kwargs)
        finally:
            built["seconds"] += time.perf_counter() - start

    IngestRun.build_points = timed_build
    with tempfile.TemporaryDirectory() as tmp, open_store(Path(tmp) / "store") as store:
        if mode == "ray":
            summary = ingest(docs, IndexSettings(), store, "c", progress=False, ray=RayOptions())
        else:
            summary = ingest(docs, IndexSettings(), store, "c", progress=False)
    out.write_text(json.dumps({"wall": time.perf_counter() - began, "stages": dict(summary.stage_seconds),
                               "build_points": built["seconds"],
                               "documents": summary.documents, "tokens": summary.tokens}))


def run(mode: str, docs: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        done = subprocess.run([sys.executable, __file__, "--child", mode, "--docs", str(docs), "--out", str(out)],
                              env={**os.environ, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(done.stderr[-2000:])
        return json.loads(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--docs", type=Path, default=DOCS)
    parser.add_argument("--child", choices=("single", "ray"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, args.docs, args.out)
    n_docs = sum(1 for p in args.docs.rglob("*") if p.is_file())
    details: dict[str, list[dict]] = {"single": [], "ray": []}
    for _ in range(args.runs):
        for mode in details:
            details[mode].append(run(mode, args.docs))
    names = {"single": "single process", "ray": "--ray (local instance)"}
    rows = {names[mode]: [d["wall"] for d in runs] for mode, runs in details.items()}
    single = statistics.median(d["wall"] for d in details["single"])
    on_ray = statistics.median(d["wall"] for d in details["ray"])
    for mode, runs in details.items():
        stages = {k: round(statistics.median(d["stages"].get(k, 0.0) for d in runs), 2)
                  for k in ("read", "prepare", "encode", "write")}
        stages["build_points"] = round(statistics.median(d["build_points"] for d in runs), 2)
        print(f"{mode}: stage seconds (median; in the Ray run read/encode are the driver's waits) {stages}")
    result = {
        "documents": n_docs, "runs": details,
        "median_seconds": {"single": single, "ray": on_ray}, "ray_over_single": on_ray / single,
        "ray_extra_seconds_per_document": (on_ray - single) / n_docs,
    }
    for name, times in rows.items():
        print(f"{name:24s} median {statistics.median(times):6.1f} s  runs {', '.join(f'{t:.1f}' for t in times)}")
    print(f"ray / single: {on_ray / single:.2f}x (target <= 1.3x); extra {(on_ray - single) / n_docs:.2f} s/document")
    save("perf_ray", result)


if __name__ == "__main__":
    main()
