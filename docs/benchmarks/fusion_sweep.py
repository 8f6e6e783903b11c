"""Compare the hybrid fusions (rrf, dbsf, convex at several α) on the bench cut, through the real index.

Every split's corpus is ingested once (embeddings from the bench's embedding cache) into a collection with
``doc`` and ``bm25``; every query then runs through :class:`longembed.retrieve.Retriever` in each mode and
fusion, and the ranked lists are scored with the bench's metrics. Prints one markdown table (×100).

    python docs/benchmarks/fusion_sweep.py --data DIR --cache CACHE.sqlite [--extend pi] [--alphas 0.3,0.5,0.7]
"""

from __future__ import annotations

import argparse
import tempfile
from unittest import mock

from longembed.bench.cache import CachedEncoder, EmbeddingCache, text_sha256
from longembed.bench.data import load_tasks, make_splits
from longembed.bench.metrics import evaluate
from longembed.encoding import Encoder
from longembed.models.paths import with_model_defaults
from longembed.ingest import SourceDocument, ingest_documents
from longembed.retrieve import Retriever, hybrid
from longembed.settings import IndexSettings
from longembed.store import Store
from longembed.settings import RunOptions


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--cache", required=True)
    ap.add_argument("--tasks", default="passkey,needle,qmsum,summ_screen_fd,paraphrased_needle")
    ap.add_argument("--lengths", default="256,512,1024,2048,4096")
    ap.add_argument("--extend", default="pi")
    ap.add_argument("--alphas", default="0.3,0.5,0.7")
    ap.add_argument("--chunks", action="store_true", help="also store and fuse the chunks multivector (pcw windows)")
    args = ap.parse_args()
    lengths = [int(x) for x in args.lengths.split(",")]
    settings = with_model_defaults(IndexSettings(extend=args.extend, max_length=4096))
    encoder = CachedEncoder(Encoder(settings, RunOptions(device="cpu")), EmbeddingCache(args.cache))
    plain_encode = encoder.encoder.encode
    memo: dict[str, object] = {}

    def encode_once(texts, kind="document", **kw):  # each query is encoded once, not once per variant
        if kind != "query" or len(texts) != 1:
            return plain_encode(texts, kind=kind, **kw)
        if texts[0] not in memo:
            memo[texts[0]] = plain_encode(texts, kind=kind, **kw)
        return memo[texts[0]]

    encoder.encoder.encode = encode_once
    variants = ["dense", "sparse", "rrf", "dbsf", *(f"convex@{a}" for a in args.alphas.split(","))]
    scores: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as tmp, Store(tmp) as store:
        for task in load_tasks(args.tasks.split(","), args.data).tasks:
            splits, _ = make_splits(task, lengths, 25, 25)
            for split in splits:
                docs = [SourceDocument(d.doc_id, d.doc_id, d.text, text_sha256(d.text)) for d in split.corpus]
                store.delete_collection("c")
                ingest_documents(docs, settings, store, "c", encoder=encoder, progress=False, with_windows=args.chunks)
                retriever = Retriever(store=store, collection="c", encoder=encoder.encoder)
                k = min(10, len(docs))
                for variant in variants:
                    if variant in ("dense", "sparse"):
                        kw = {"mode": variant}
                    elif variant.startswith("convex@"):
                        kw = {"mode": "hybrid", "fusion": "convex"}
                    else:
                        kw = {"mode": "hybrid", "fusion": variant}
                    alpha = float(variant.split("@")[1]) if "@" in variant else hybrid.CONVEX_ALPHA
                    with mock.patch.object(hybrid, "CONVEX_ALPHA", alpha):
                        runs = {q.qid: [h["path"] for h in retriever.search(q.text, k=k, **kw)] for q in split.queries}
                    metric = split.info.main_metric
                    scores.setdefault(variant, {}).setdefault(task.info.name, []).append(
                        evaluate(split.qrels, runs)[metric]
                    )
                print(split.name, {v: round(scores[v][task.info.name][-1], 3) for v in variants}, flush=True)
    tasks = list(next(iter(scores.values())))
    print("\n| Variant | " + " | ".join(tasks) + " | Avg |")
    print("|---|" + "---:|" * (len(tasks) + 1))
    for variant, by_task in scores.items():
        means = [100 * sum(v) / len(v) for v in by_task.values()]
        print(f"| {variant} | " + " | ".join(f"{m:.1f}" for m in means) + f" | {sum(means) / len(means):.1f} |")


if __name__ == "__main__":
    main()
