"""Cost of passages: ingest wall time and index size per ``--passages`` mode against whole-document ingest alone
(``none``), and warm query latency on a collection of N documents with passages.

Ingest: ``longembed.ingest.ingest`` of the first ``--docs`` sample meetings (examples/meetings/docs) into a fresh
local store per mode, default settings otherwise (pi, L_t = 4096, bm25); size = bytes of the store folder;
``forward_tokens``: tokens the model ran (padding excluded), the model's share of the cost without timing noise.
Query latency: a collection of ``--latency-docs`` points whose vectors are the sample's real passage vectors
(copied round-robin with a little noise, texts and spans kept), queried ``--queries`` times warm in the default
mode (hybrid, dbsf) with the best passage attached, and with ``unit="passage"``.

    OMP_NUM_THREADS=1 HF_HUB_OFFLINE=1 python perf/perf_passages.py --docs 3 --latency-docs 1000
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from longembed.encoding import Encoder
from longembed.ingest import ingest, scan
from longembed.retrieve import Retriever
from longembed.settings import IndexSettings
from longembed.store import DOC_VECTOR, MULTI_VECTOR, Store, StoredDocument
from longembed.settings import RunOptions

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "meetings" / "docs"
QUERIES = ["what did the team decide about the remote control?", "who is allergic to cats?",
           "budget of the remote", "when is the next meeting?", "which colour for the case?"]


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=3)
    parser.add_argument("--modes", default="none,naive,late,window-late")
    parser.add_argument("--latency-docs", type=int, default=1000)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("perf/results/perf_passages.json"))
    args = parser.parse_args()
    encoder = Encoder(IndexSettings(), RunOptions(device="cpu"))
    work = Path(tempfile.mkdtemp())
    docs = work / "docs"
    docs.mkdir()
    for f in sorted(SAMPLE.glob("*.txt"))[: args.docs]:
        shutil.copy(f, docs / f.name)
    out: dict = {"docs": args.docs, "ingest": {}}
    encoder.encode(["warm up"])
    for run, mode in enumerate(args.modes.split(",")):  # a mode given twice: the later run is kept (warm)
        store_dir = work / f"store-{run}-{mode}"
        settings = replace(encoder.settings, passages=mode)
        forward = []  # tokens of every forward pass (padding excluded): the model's work, free of timing noise
        encoder.on_forward = lambda lengths: forward.append(sum(lengths))
        with Store(store_dir) as store:
            began = time.perf_counter()
            summary = ingest(scan(docs), settings, store, "c", encoder=encoder, progress=False)
            seconds = time.perf_counter() - began
            counts = store.vector_counts("c")
        encoder.on_forward = None
        out["ingest"][mode] = {"seconds": seconds, "tokens": summary.tokens, "bytes": folder_bytes(store_dir),
                               "vectors": counts, "stage_seconds": summary.stage_seconds,
                               "forward_passes": len(forward), "forward_tokens": sum(forward)}
        print(mode, json.dumps(out["ingest"][mode]), flush=True)
    base = out["ingest"].get("none", {})
    for mode, row in out["ingest"].items():
        row["x_none"] = row["seconds"] / base["seconds"] if base else None
        row["forward_tokens_x_none"] = row["forward_tokens"] / base["forward_tokens"] if base else None
    # warm query latency on N documents with passages
    source = next(iter(sorted(work.glob("store-*-naive"))), None)
    if source is not None and args.latency_docs:
        with Store(source) as store:
            records = list(store.scroll("c", vectors=[DOC_VECTOR, MULTI_VECTOR]))[:100]
        big_dir = work / "store-big"
        rng = np.random.default_rng(0)
        with Store(big_dir) as big:
            big.ensure_collection("c", replace(encoder.settings, passages="naive"), encoder.dimension,
                                  with_multivector=True)
            batch = []
            for i in range(args.latency_docs):
                r = records[i % len(records)]
                noisy = lambda v: (lambda x: (x / np.linalg.norm(x)).tolist())(np.asarray(v) + rng.normal(0, 0.02, len(v)))  # noqa: E731
                payload = {**r.payload, "path": f"doc{i:05d}.txt"}
                batch.append(StoredDocument(path=payload["path"], vector=noisy(r.vectors[DOC_VECTOR]),
                                            payload=payload, multivector=[noisy(v) for v in r.vectors[MULTI_VECTOR]]))
                if len(batch) == 50:
                    big.upsert("c", batch)
                    batch = []
            big.upsert("c", batch)
            n_passages = big.vector_counts("c")[MULTI_VECTOR]
            from longembed.sparse.index import add_bm25

            add_bm25(big, "c")  # the default query mode (hybrid) needs it
            retriever = Retriever(store=big, collection="c", encoder=encoder)
            latency = {}
            for name, kwargs in (("dense doc", {"mode": "dense"}), ("dense chunks", {"mode": "dense", "using": "chunks"}),
                                 ("default (hybrid convex, chunks + bm25, best passage)", {}),
                                 ("passage unit", {"unit": "passage"})):
                retriever.search(QUERIES[0], k=5, **kwargs)
                times = []
                for q in range(args.queries):
                    began = time.perf_counter()
                    retriever.search(QUERIES[q % len(QUERIES)], k=5, **kwargs)
                    times.append(time.perf_counter() - began)
                latency[name] = {"median_ms": 1000 * statistics.median(times), "max_ms": 1000 * max(times)}
                print(name, latency[name], flush=True)
        out["latency"] = {"documents": args.latency_docs, "passages": n_passages, **latency}
    shutil.rmtree(work, ignore_errors=True)
    args.out.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
