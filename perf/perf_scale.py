"""Benchmark 9: the embedded store at scale (issue 26): 1k / 10k / 100k documents.

Stores are filled through the store API with synthetic points shaped like a default ingest (past what ingest can make
on a 2-core machine): a unit ``doc`` vector per document, ``--passages`` passage vectors near it (the ``chunks``
multivector), a BM25 sparse vector of ~``--terms`` Zipf-distributed terms (weights from the product's own BM25
formula) and a payload with ~1,200 characters of text and its passage spans. Measured per store:

- upsert throughput (documents/s, batches of 64), size on disk (``du``);
- open: a new process that opens the store and answers one dense query (no model: the store's own cost);
- warm latency, p50 / p95 over ``--queries`` queries, of what ``longembed query`` runs after encoding: ``dense``
  (doc), ``sparse`` (BM25), ``hybrid`` (the default: convex over chunks + bm25, or over doc + bm25 without
  passages, with the best passage of each hit) and ``--unit passage``;
- recall@10 of the hybrid query against the same fusion computed exactly in NumPy over every document;
- peak RSS of the measuring process.

    python perf/perf_scale.py --docs 1000,10000 --passages 60
    python perf/perf_scale.py --docs 100000 --passages 0
    python perf/perf_scale.py --docs 1000 --passages 60 --backend local-mode   # the store before Qdrant Edge
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from perf_common import save

WORDS = np.array([f"w{i}" for i in range(50_000)])


def synthetic(n: int, dim: int, passages: int, terms: int, rng: np.random.Generator):
    """``n`` documents: doc vectors (n, dim), passage vectors (n, passages, dim) or None, term ids (n, terms)."""
    doc = rng.normal(size=(n, dim)).astype(np.float32)
    doc /= np.linalg.norm(doc, axis=1, keepdims=True)
    chunks = None
    if passages:
        chunks = doc[:, None, :] + 0.8 * rng.normal(size=(n, passages, dim)).astype(np.float32) / math.sqrt(dim)
        chunks /= np.linalg.norm(chunks, axis=2, keepdims=True)
    ids = np.minimum(rng.zipf(1.3, size=(n, terms)), 50_000) - 1
    return doc, chunks, ids


def fill(store, n: int, dim: int, passages: int, terms: int, seed: int = 0) -> float:
    """Write ``n`` synthetic documents; returns documents/s."""
    from longembed.settings import IndexSettings
    from longembed.sparse.analyzer import SparseSettings
    from longembed.sparse.bm25 import LengthStats, document_weights
    from longembed.sparse.index import refresh_stats
    from longembed.store import StoredDocument

    settings = IndexSettings(extend="none", passages="naive" if passages else "none")
    store.ensure_collection("c", settings, dim, with_multivector=bool(passages), sparse=SparseSettings())
    rng = np.random.default_rng(seed)
    started, batch = time.perf_counter(), 64
    for lo in range(0, n, batch):
        m = min(batch, n - lo)
        doc, chunks, ids = synthetic(m, dim, passages, terms, rng)
        written = []
        for j in range(m):
            counts: dict[int, int] = {}
            for t in ids[j].tolist():
                counts[t] = counts.get(t, 0) + 1
            text = " ".join(WORDS[ids[j]].tolist())[:1200]
            span = max(1, len(text) // max(passages, 1))
            payload = {"path": f"d{lo + j}.txt", "title": f"d{lo + j}", "text": text, "bm25_length": terms,
                       "passages": [[p * span, (p + 1) * span] for p in range(passages)], "sha256": str(lo + j)}
            written.append(StoredDocument(
                f"d{lo + j}.txt", doc[j].tolist(), payload, multivector=chunks[j].tolist() if passages else None,
                sparse=document_weights(counts, terms, float(terms), SparseSettings()),
            ))
        store.upsert("c", written)
    rate = n / (time.perf_counter() - started)
    store.update_metadata("c", {"sparse": {"bm25": SparseSettings().to_dict(),
                                           "stats": LengthStats(n, n * terms, float(terms)).to_dict()}})
    refresh_stats(store, "c")
    return rate


def queries(store, count: int, n: int):
    """(dense vector, sparse query) pairs: each near a random stored document's ``doc`` vector, with 4 of its terms."""
    from longembed.sparse.bm25 import SparseVector
    from longembed.store import DOC_VECTOR, SPARSE_VECTOR, point_id

    rng = np.random.default_rng(1)
    out = []
    for _ in range(count):
        (record,) = store.retrieve("c", [point_id(f"d{int(rng.integers(n))}.txt")], payload=False,
                                   vectors=[DOC_VECTOR, SPARSE_VECTOR])
        vector = np.asarray(record.vectors[DOC_VECTOR], dtype=np.float32)
        vector = vector + rng.normal(size=vector.shape).astype(np.float32) * 0.05
        vector /= np.linalg.norm(vector)
        picked = sorted(set(rng.choice(record.vectors[SPARSE_VECTOR].indices, size=4).tolist()))
        out.append((vector, SparseVector(picked, [1.0] * len(picked))))
    return out


def warm(store, asked, passages: bool, n_docs: int) -> dict[str, dict]:
    from longembed.retrieve.hybrid import convex_fusion, sparse_search
    from longembed.retrieve.passages import best_passages, top_passages
    from longembed.sparse.index import sparse_settings

    settings = sparse_settings(store, "c")
    modes = {
        "dense": lambda v, s: store.search("c", v.tolist(), 10),
        "sparse": lambda v, s: sparse_search(store, "c", s, 10),
        "hybrid": lambda v, s: best_passages(store, "c", convex_fusion(
            store, "c", v.tolist(), s, 10, passages, settings, n_docs, with_doc=not passages), v),
    }
    if passages:
        modes["passage"] = lambda v, s: top_passages(store, "c", convex_fusion(
            store, "c", v.tolist(), s, 20, True, settings, n_docs, with_doc=False), v, 10)
    out = {}
    for name, fn in modes.items():
        fn(*asked[0])
        times = []
        for v, s in asked:
            t = time.perf_counter()
            fn(v, s)
            times.append(1000 * (time.perf_counter() - t))
        out[name] = {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95))}
    return out


def recall(store, asked, passages: bool, n_docs: int, dim: int) -> float:
    """recall@10 of the hybrid query against the same convex fusion over exact scores of every document."""
    from longembed.retrieve.hybrid import CONVEX_ALPHA, convex_fusion
    from longembed.sparse.bm25 import max_attainable
    from longembed.sparse.index import sparse_settings
    from longembed.store import DOC_VECTOR, MULTI_VECTOR, SPARSE_VECTOR

    settings = sparse_settings(store, "c")
    name = MULTI_VECTOR if passages else DOC_VECTOR
    ids, dense, sparse = [], [], []
    for r in store.scroll("c", payload=False, vectors=[name, SPARSE_VECTOR], page=1000):
        ids.append(r.point_id)
        dense.append(np.asarray(r.vectors[name], dtype=np.float32))
        sparse.append(dict(zip(r.vectors[SPARSE_VECTOR].indices, r.vectors[SPARSE_VECTOR].values)))
    df: dict[int, int] = {}
    for s in sparse:
        for t in s:
            df[t] = df.get(t, 0) + 1
    found = []
    for v, q in asked:
        cos = np.array([float((d @ v).max()) if d.ndim == 2 else float(d @ v) for d in dense])
        idf = {t: math.log(1 + (n_docs - df.get(t, 0) + 0.5) / (df.get(t, 0) + 0.5)) for t in q.indices}
        bm25 = np.array([sum(idf[t] * s.get(t, 0.0) for t in q.indices) for s in sparse])
        pool = sorted(set(np.argsort(-cos)[:100].tolist()) | set(np.argsort(-bm25)[:100].tolist()))
        c = cos[pool]
        scaled = (c - c.min()) / (c.max() - c.min()) if c.max() > c.min() else np.ones_like(c)
        ceiling = max_attainable([idf[t] for t in q.indices], settings)
        combined = CONVEX_ALPHA * scaled + (1 - CONVEX_ALPHA) * bm25[pool] / ceiling
        exact = {ids[pool[i]] for i in np.argsort(-combined)[:10]}
        got = convex_fusion(store, "c", v.tolist(), q, 10, passages, settings, n_docs, with_doc=not passages)
        found.append(len(exact & {h.point_id for h in got}) / 10)
    return float(np.mean(found))


def open_time(path: Path, backend: str, dim: int, runs: int = 3) -> float:
    """Median seconds for a new process to open the store and answer one dense query (interpreter start excluded)."""
    code = (
        "import sys, time; t = time.perf_counter(); "
        f"from longembed.store.{'edge import EdgeStore as S' if backend == 'edge' else 'qdrant import QdrantClientStore as S'}; "
        f"s = S(path={str(path)!r}, create=False); s.search('c', [1.0] + [0.0] * {dim - 1}, 10); "
        "print(time.perf_counter() - t)"
    )
    times = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
             for _ in range(runs)]
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", default="1000,10000")
    parser.add_argument("--passages", type=int, default=60)
    parser.add_argument("--terms", type=int, default=200)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--backend", choices=["edge", "local-mode"], default="edge")
    parser.add_argument("--work", type=Path, default=None, help="keep the stores here (default: a temporary folder)")
    parser.add_argument("--reuse", action="store_true", help="measure a complete store kept in --work again")
    args = parser.parse_args()
    from longembed.store.edge import EdgeStore
    from longembed.store.qdrant import QdrantClientStore

    backend = EdgeStore if args.backend == "edge" else QdrantClientStore
    work = args.work or Path(tempfile.mkdtemp(prefix="perf_scale_"))
    rows = []
    for n in [int(x) for x in args.docs.split(",")]:
        path = work / f"{args.backend}-{n}-{args.passages}"
        store = backend(path=path)
        reused = args.reuse and store.exists("c") and store.count("c") == n
        rate = None if reused else fill(store, n, args.dim, args.passages, args.terms)
        store.close()
        opened = open_time(path, args.backend, args.dim)
        store = backend(path=path, create=False)
        asked = queries(store, args.queries, n)
        latency = warm(store, asked, bool(args.passages), n)
        row = {
            "docs": n, "passages_per_doc": args.passages, "backend": args.backend, "upsert_docs_per_s": rate,
            "disk_mb": int(subprocess.run(["du", "-sm", str(path)], capture_output=True, text=True).stdout.split()[0]),
            "open_and_first_query_s": opened, "warm": latency,
            "recall_at_10": recall(store, asked[:20], bool(args.passages), n, args.dim),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        }
        store.close()
        print(json.dumps(row), flush=True)
        rows.append(row)
    save(f"perf_scale_{args.backend}_{args.docs.replace(',', '-')}_{args.passages}", {"rows": rows})


if __name__ == "__main__":
    main()
