"""Benchmark 13: the CPU side of the real ingest pipeline alone, i.e. the most tokens/s this machine could feed a GPU.

On a GPU the model's forward pass is fast enough that ingest may be bound by everything around it: reading and
hashing files, clipping and tokenizing, cutting sentence passages and building their model inputs, padding batches,
pooling, BM25 term counts and weights, building points and writing them to the store. This benchmark runs the
product's real ``longembed.ingest.ingest()`` over a folder with the model's forward pass replaced by a zero-cost
stand-in (``Encoder.token_states`` returns ``torch.zeros`` of shape (n, longest, hidden size) without running the
model; patched on this benchmark's encoder instance only, never in the product's path). Whatever throughput is
left is an upper bound on what a GPU of any speed could be fed by this machine's CPU side (stages overlap: read and
prepare run in a worker thread one batch ahead of encode and write). With the encoder on the CPU, ``encode`` still
pools the zero states there, which a GPU would do itself: on a CPU-only machine the bound is a little low.

For ``--passages none`` and the default ``naive`` (sentence passages, each its own model input) it reports per run
(median of ``--runs`` by wall time): ``IngestSummary.stage_seconds`` (read, prepare, encode, write; ``encode`` is
then batching, pooling and span means only), ``sparse_seconds`` (BM25, part of prepare and finish), the wall time,
document tokens/s (``summary.tokens`` / wall), model-input tokens/s (every forward input's length, counted by the
encoder's ``on_forward`` hook) and padded tokens/s (batch size x longest input, what a GPU would really run).
For comparison one copy of the folder is ingested with the real model (``--model-runs`` runs, default 1, 0 skips)
and ``model_share_of_wall`` = 1 - real tokens/s / stub tokens/s. Models load before timing; an untimed stand-in
run per mode on one copy warms up (the first passage split imports NLTK); every run writes to a fresh store in a
temp dir. Default settings otherwise (on a CPU: int8 linear layers).

    python perf/perf_pipeline.py [--folder examples/meetings/docs] [--repeat 15] [--runs 3] [--model-runs 1]
        [--device auto] [--prepare-workers N]

``--repeat`` ingests that many copies of the folder as one (each text starts with ``Copy i.``, so every file is a
document of its own): the issue's target is set on the sample meetings repeated to at least a million tokens.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from perf_common import REPO, save

DOCS = REPO / "examples" / "meetings" / "docs"
MODES = ("none", "naive")


def stub_forward(encoder) -> None:
    """Replace ``encoder.token_states`` (this instance only) by zeros of the model's output shape: a contiguous
    view of one zero buffer, grown when a batch needs more (a model's output costs the CPU nothing on a GPU; filling
    fresh zeros cost ~1.5 s per million tokens here). Pooling zeroes padding in place, so the buffer stays zero."""
    import torch

    hidden = encoder.model.config.hidden_size
    buffer = {"zeros": torch.zeros(0)}

    def token_states(inputs: dict) -> torch.Tensor:
        ids = inputs["input_ids"]
        n, longest = ids.shape
        if buffer["zeros"].numel() < n * longest * hidden or buffer["zeros"].device != ids.device:
            buffer["zeros"] = torch.zeros(n * longest * hidden, dtype=torch.float32, device=ids.device)
        return buffer["zeros"][: n * longest * hidden].view(n, longest, hidden)

    encoder.token_states = token_states


def repeated_folder(folder: Path, copies: int, work: Path) -> Path:
    """``copies`` copies of ``folder``'s files under ``work`` (one subfolder each), each text starting with a line
    ``Copy i.`` so that no two files are the same document; ``folder`` itself for ``copies`` = 1."""
    if copies <= 1:
        return folder
    out = work / "repeated"
    for i in range(1, copies + 1):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            target = out / f"copy{i}" / path.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f"Copy {i}.\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    return out


def real_forward(encoder) -> None:
    encoder.__dict__.pop("token_states", None)  # back to the class's method: the model runs


class ForwardCounter:
    """The encoder's ``on_forward`` hook: forward passes, their input tokens and padded tokens."""

    def __init__(self) -> None:
        self.passes = self.tokens = self.padded = 0

    def __call__(self, lengths: list[int]) -> None:
        self.passes += 1
        self.tokens += sum(lengths)
        self.padded += len(lengths) * max(lengths, default=0)


def one_run(folder: Path, encoder, work: Path, prepare_workers: int | None = None) -> dict:
    """Ingest ``folder`` into a fresh store with ``encoder`` (as patched); what the run did and how fast."""
    from longembed.ingest import ingest
    from longembed.store import Store

    counter = ForwardCounter()
    encoder.on_forward = counter
    store_dir = Path(tempfile.mkdtemp(prefix="store_", dir=work))
    try:
        began = time.perf_counter()
        with Store(path=store_dir / "store") as store:
            summary = ingest(folder, encoder.settings, store, "c", encoder=encoder, progress=False,
                             prepare_workers=prepare_workers)
        wall = time.perf_counter() - began
    finally:
        encoder.on_forward = None
        shutil.rmtree(store_dir, ignore_errors=True)
    if summary.failed:
        raise SystemExit(f"ingest failed for {[f.path for f in summary.failed]}")
    return {
        "wall_s": wall,
        "summary_seconds": summary.seconds,
        "stage_seconds": dict(summary.stage_seconds),
        "sparse_seconds": summary.sparse_seconds,
        "documents": summary.documents,
        "document_tokens": summary.tokens,
        "forward_passes": counter.passes,
        "model_input_tokens": counter.tokens,
        "padded_tokens": counter.padded,
        "document_tokens_per_s": summary.tokens / wall,
        "model_input_tokens_per_s": counter.tokens / wall,
        "padded_tokens_per_s": counter.padded / wall,
    }


def median_run(rows: list[dict]) -> dict:
    """The run of median wall time (the lower middle one for an even count), with every wall time."""
    ranked = sorted(rows, key=lambda r: r["wall_s"])
    return {**ranked[(len(ranked) - 1) // 2], "runs_wall_s": [r["wall_s"] for r in rows]}


def line(label: str, r: dict) -> str:
    stages = " ".join(f"{k} {v:.2f}" for k, v in r["stage_seconds"].items())
    return (f"{label}: wall {r['wall_s']:.2f} s [{stages}; bm25 {r['sparse_seconds']:.2f}] "
            f"{r['document_tokens_per_s']:,.0f} doc tok/s, {r['model_input_tokens_per_s']:,.0f} model-input tok/s "
            f"({r['forward_passes']} passes, {r['padded_tokens_per_s']:,.0f} padded tok/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", type=Path, default=DOCS)
    parser.add_argument("--repeat", type=int, default=15,
                        help="copies of the folder ingested as one (15 x the sample meetings: ~1.06M document tokens)")
    parser.add_argument("--runs", type=int, default=3, help="stand-in runs per passages mode (median)")
    parser.add_argument("--model-runs", type=int, default=1, help="real-model runs per passages mode (0: none)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--name", default="perf_pipeline", help="results file perf/results/NAME.json")
    parser.add_argument("--prepare-workers", type=int, default=None,
                        help="prepare worker processes (default: the product's auto, 0 on a CPU)")
    args = parser.parse_args()

    from longembed.encoding import Encoder
    from longembed.models.device import cpu_quantization, pick_device
    from longembed.settings import IndexSettings, RunOptions, quantization_for_run

    on_cpu = pick_device(args.device).type == "cpu"
    if on_cpu and args.prepare_workers:
        import os

        import torch

        # the stand-in's pooling (on a GPU's own cores in a real run) gets the cores the workers leave: with 2
        # threads on 2 cores beside a busy worker, torch's small ops waited on each other (5.5 s vs 1.5 s here)
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) - args.prepare_workers))
    work = Path(tempfile.mkdtemp(prefix="perf_pipeline_"))
    folder = repeated_folder(args.folder.resolve(), args.repeat, work)
    results: dict = {"benchmark": "ingest pipeline, CPU side alone (forward pass stubbed)",
                     "folder": str(args.folder.resolve()), "repeat": args.repeat,
                     "files": sum(1 for p in folder.rglob("*") if p.is_file()), "runs": args.runs,
                     "model_runs": args.model_runs, "device": args.device,
                     "prepare_workers": args.prepare_workers}
    try:
        encoders = {}
        for mode in MODES:  # the product's defaults for a new collection, passages aside
            settings, run = quantization_for_run(IndexSettings(passages=mode), RunOptions(device=args.device),
                                                 on_cpu=on_cpu, cpu_default=cpu_quantization())
            encoders[mode] = Encoder(settings, run)
        results["settings"] = {m: e.settings.describe() for m, e in encoders.items()}
        results["encoder_device"] = str(encoders["none"].device)
        for mode, encoder in encoders.items():
            stub_forward(encoder)
            one_run(args.folder, encoder, work)  # warm-up, untimed: first calls (store, BM25, tokenizer, sentences)
            row = median_run([one_run(folder, encoder, work, args.prepare_workers) for _ in range(args.runs)])
            results[f"stub_{mode}"] = row
            print(line(f"stub  passages={mode}", row), flush=True)
            if args.model_runs > 0:
                real_forward(encoder)
                # the real model on one copy of the folder (the repeated one would take ~15x as long)
                real = median_run([one_run(args.folder, encoder, work, args.prepare_workers)
                                   for _ in range(args.model_runs)])
                results[f"model_{mode}"] = real
                share = 1 - real["document_tokens_per_s"] / row["document_tokens_per_s"]
                results[f"model_share_of_wall_{mode}"] = share
                results[f"stub_over_model_tokens_per_s_{mode}"] = (
                    row["document_tokens_per_s"] / real["document_tokens_per_s"])
                print(line(f"model passages={mode}", real), flush=True)
                print(f"  the model takes {results[f'model_share_of_wall_{mode}']:.0%} of the wall time; the CPU "
                      f"side alone feeds {results[f'stub_over_model_tokens_per_s_{mode}']:.1f}x the real rate",
                      flush=True)
        if all(f"stub_{m}" in results for m in MODES):
            results["naive_over_none_stub_wall"] = results["stub_naive"]["wall_s"] / results["stub_none"]["wall_s"]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    save(args.name, results)


if __name__ == "__main__":
    main()
