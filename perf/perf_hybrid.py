"""Benchmark 6: what BM25 costs. (a) the share of ingest wall time spent on the ``bm25`` vector (term counts in
the reading thread, weights, statistics) on examples/meetings/docs at the defaults; (b) warm query latency of
``hybrid`` (each fusion) and ``sparse`` vs ``dense`` on 1,000 short synthetic documents (``--extend none``).

    python perf/perf_hybrid.py [--queries 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from longembed.encoding import Encoder
from longembed.ingest import SourceDocument, ingest, ingest_documents
from longembed.retrieve import Retriever
from longembed.settings import IndexSettings
from longembed.store import Store
from longembed.settings import RunOptions

REPO = Path(__file__).resolve().parent.parent
WORDS = (
    "budget remote control design meeting marketing battery button screen speech voice recognition cost euro "
    "plastic rubber case colour yellow fruit trend user interface industrial project manager prototype market "
    "research survey young people spend money fancy feel shape curved double single chip solar kinetic energy"
).split()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--docs", type=int, default=1000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with Store(Path(tmp) / "a") as store:
            s = ingest(REPO / "examples" / "meetings" / "docs", IndexSettings(), store, "m", progress=False, run=RunOptions(device="cpu"))
        print(f"(a) ingest {s.documents} docs, {s.tokens} tokens: {s.seconds:.1f} s wall; bm25 {s.sparse_seconds:.3f} s "
              f"= {100 * s.sparse_seconds / s.seconds:.2f} %")
        rng = random.Random(0)
        settings = IndexSettings(extend="none", max_length=128)
        encoder = Encoder(settings, RunOptions(device="cpu"))
        docs = [" ".join(rng.choices(WORDS, k=40)) for _ in range(args.docs)]
        with Store(Path(tmp) / "b") as store:
            ingest_documents([SourceDocument(f"d{i}", f"d{i}", t, str(i)) for i, t in enumerate(docs)], settings, store,
                             "q", encoder=encoder, progress=False)
            retriever = Retriever(store=store, collection="q", encoder=encoder)
            queries = [" ".join(rng.choices(WORDS, k=6)) for _ in range(args.queries)]
            for mode, fusion in (("dense", None), ("sparse", None), ("hybrid", "convex"), ("hybrid", "rrf"),
                                 ("hybrid", "dbsf")):
                for q in queries[:10]:
                    retriever.search(q, k=10, mode=mode, fusion=fusion)
                times = []
                for q in queries:
                    began = time.perf_counter()
                    retriever.search(q, k=10, mode=mode, fusion=fusion)
                    times.append(1000 * (time.perf_counter() - began))
                times.sort()
                print(f"(b) {mode:<6} {fusion or '':<6} p50 {statistics.median(times):6.1f} ms  "
                      f"p95 {times[int(0.95 * len(times))]:6.1f} ms")


if __name__ == "__main__":
    main()
