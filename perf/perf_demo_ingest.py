"""Benchmark 12: the default ingest of the demo's sample meetings (``examples/meetings/docs``, 20 meetings), end
to end, side by side with another checkout (e.g. the previous main), and how true the progress bar is.

Each row runs ``ingest()`` of the whole folder into a fresh store in its own Python process (model load
included, as ``longembed ingest`` does), with the defaults of the checkout it imports, plus the row's options:

- ``--ref DIR``: a checkout whose ``longembed`` package is imported for the ``reference`` row (e.g. a
  ``git worktree`` of the previous main); without it the row is skipped;
- ``new``: this checkout's defaults (``--dtype auto``: on a CPU bfloat16 with AMX, else int8);
- ``new-int8``: this checkout with ``--dtype int8`` (the default on CPUs without bfloat16 matrix units);
- ``new-float32``: this checkout with ``--dtype float32`` (what the default was).

For this checkout's rows the progress bar is sampled at every forward pass: its document tokens at the end vs
the summary's, and its first ETA once 10 % of the document tokens are embedded vs the time that was really left.

    python perf/perf_demo_ingest.py [--ref ../main-before] [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from perf_common import REPO, save

DOCS = REPO / "examples" / "meetings" / "docs"


def one_run(dtype: str, out: Path) -> None:
    """In the child process: ingest DOCS with the imported checkout's defaults and ``dtype``; write JSON."""
    import longembed
    from longembed.ingest import ingest
    from longembed.settings import IndexSettings, RunOptions
    from longembed.store import Store

    samples: list[tuple[float, float, float | None]] = []  # (seconds since start, bar tokens, ETA)
    bar_tokens = {"end": None}
    from longembed.ingest import progress as progress_module

    has_eta = hasattr(progress_module.IngestProgress, "eta")  # the reference checkout's bar may have none
    if has_eta:
        original = progress_module.IngestProgress.forward

        def forward(self, n_tokens: int) -> None:
            original(self, n_tokens)
            samples.append((time.perf_counter() - began, self.tokens, self.eta()))
            bar_tokens["end"] = self.tokens

        original_done = progress_module.IngestProgress.batch_done

        def batch_done(self, *args, **kwargs) -> None:
            original_done(self, *args, **kwargs)
            bar_tokens["end"] = self.tokens

        progress_module.IngestProgress.forward = forward
        progress_module.IngestProgress.batch_done = batch_done
    began = time.perf_counter()
    with Store(path=Path(tempfile.mkdtemp(prefix="perf_demo_")) / "store") as store:
        summary = ingest(DOCS, IndexSettings(), store, "default", progress=True, run=RunOptions(dtype=dtype))
        settings = store.settings("default")
    wall = time.perf_counter() - began
    result = {
        "package": str(Path(longembed.__file__).parent),
        "settings": settings.describe(),
        "documents": summary.documents,
        "tokens": summary.tokens,
        "summary_seconds": summary.seconds,
        "wall_s": wall,
        "tokens_per_s": summary.tokens / summary.seconds,
        "stage_seconds": summary.stage_seconds,
    }
    if has_eta and samples:
        result["bar_tokens_end"] = bar_tokens["end"]
        result["bar_over_summary_tokens"] = bar_tokens["end"] / summary.tokens
        first = next(((t, tok, eta) for t, tok, eta in samples if tok >= 0.1 * summary.tokens and eta), None)
        if first is not None:
            t, _, eta = first
            result["first_eta_after_10pct"] = {"at_s": t, "eta_s": eta, "real_left_s": wall - t,
                                               "eta_over_real": eta / (wall - t)}
    out.write_text(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ref", type=Path, help="a checkout of the previous main (its package is imported)")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--one", nargs=2, metavar=("DTYPE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one_run(args.one[0], Path(args.one[1]))
        return
    rows = [("new", REPO, "auto"), ("new-int8", REPO, "int8"), ("new-float32", REPO, "float32")]
    if args.ref:
        rows.insert(0, ("reference", args.ref.resolve(), "auto"))
    results: dict = {"benchmark": "demo ingest", "folder": str(DOCS.relative_to(REPO))}
    for _ in range(args.runs):
        for label, checkout, dtype in rows:
            out = Path(tempfile.mkstemp(suffix=".json")[1])
            env = {**os.environ, "PYTHONPATH": f"{checkout}{os.pathsep}{REPO / 'perf'}", "HF_HUB_OFFLINE": "1"}
            subprocess.run([sys.executable, __file__, "--one", dtype, str(out)], env=env, check=True,
                           stderr=subprocess.DEVNULL)
            row = json.loads(out.read_text())
            results.setdefault(label, []).append(row)
            print(label, json.dumps(row), flush=True)
    if "reference" in results:
        best = {label: max(r["tokens_per_s"] for r in runs) for label, runs in results.items()
                if isinstance(runs, list)}
        results["tokens_per_s_over_reference"] = {k: v / best["reference"] for k, v in best.items()}
        print(results["tokens_per_s_over_reference"])
    save("perf_demo_ingest", results)


if __name__ == "__main__":
    main()
