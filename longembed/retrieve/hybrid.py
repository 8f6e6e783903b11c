"""Query modes over one collection: ``dense`` (the ``doc`` vector), ``sparse`` (BM25 alone) and ``hybrid`` (dense
``doc``, ``bm25`` and, where the collection has them, the ``chunks`` multivector, fused).

Fusions of ``hybrid``:

- ``rrf``: reciprocal rank fusion computed by the store, Σ 1 / (rank + 1) over the prefetched lists (1-based ranks;
  Cormack et al. 2009 with rank constant ``RRF_K`` = 2, see :mod:`longembed.store.schema`);
- ``dbsf``: distribution-based score fusion computed by the store (each list's scores scaled by mean ± 3 std, then summed);
- ``convex``: a convex combination computed here over the prefetched candidates (Bruch et al. 2023, "An Analysis
  of Fusion Functions for Hybrid Retrieval", ACM TOIS), with every candidate's exact score in every list::

      score(D) = α · mean over dense lists of minmax(cos(q, D)) + (1 − α) · BM25(D, Q) / Σ_{t∈Q} IDF(t)·(k1+1)

  The BM25 score is divided by the most any document could score for this query (every term saturated), not
  min-max scaled, so a query whose words barely occur in the collection (a paraphrase) keeps a weak BM25 term
  and the dense ranking decides; a query sharing no word with the collection gives BM25 = 0 for every document,
  i.e. the dense ranking exactly.

A BM25 list with no match at all is left out of every fusion (an empty prefetch), so it cannot break or dominate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from longembed.settings import FUSIONS, MODES, Fusion, Mode  # noqa: F401 (defined once there, light for the CLI; imported from here too)
from longembed.sparse.analyzer import SparseSettings
from longembed.sparse.bm25 import SparseVector, max_attainable, qdrant_idf
from longembed.store import DOC_VECTOR, MULTI_VECTOR, SPARSE_VECTOR, Hit, VectorQuery, VectorStore

DEFAULT_MODE: Mode = "hybrid"
DEFAULT_FUSION: Fusion = "dbsf"
CONVEX_ALPHA = 0.3
"""Weight of the dense side in the ``convex`` fusion: the best of 0.3/0.5/0.7/0.8 on ../shared/data/longembed
(docs/benchmarks/RESULTS.md, "Fusions"). ``dbsf`` is the default fusion: it measured best on average (76.4 vs 75.5 for
convex at 0.3, 69.0 for rrf)."""
PREFETCH = 100
"""Candidates each list contributes to a fusion (at least k)."""


def dense_queries(
    dense: Sequence[float], with_multivector: bool, with_doc: bool = True, limit: int = PREFETCH,
    ids: Sequence[str] | None = None,
) -> list[VectorQuery]:
    """The dense lists: ``doc`` (unless ``with_doc`` is false and the collection has the multivector), and
    ``chunks`` (:data:`~longembed.store.MULTI_VECTOR`, MaxSim, a one-vector query) where present; ``limit`` points
    each, only ``ids`` when given."""
    names = [DOC_VECTOR] if with_doc or not with_multivector else []
    if with_multivector:
        names.append(MULTI_VECTOR)
    return [VectorQuery(name, list(dense), limit, ids) for name in names]


def sparse_search(store: VectorStore, collection: str, sparse: SparseVector, k: int) -> list[Hit]:
    """BM25 alone: the ``k`` documents with the highest BM25 score (documents with no query term are not listed)."""
    if not sparse.indices:
        return []
    return store.query_batch(collection, [VectorQuery(SPARSE_VECTOR, sparse, k)], payload=True)[0]


def store_fusion(
    store: VectorStore, collection: str, dense: Sequence[float], sparse: SparseVector, k: int, fusion: str,
    with_multivector: bool, with_doc: bool = True,
) -> list[Hit]:
    """``rrf`` or ``dbsf``, computed by the store in one call over one prefetch per list; ``score`` is the fused
    score. ``with_doc=False`` leaves the ``doc`` list out where the collection has the multivector (see
    :func:`dense_queries`)."""
    limit = max(PREFETCH, k)
    lists = dense_queries(dense, with_multivector, with_doc, limit)
    if sparse.indices:
        lists.append(VectorQuery(SPARSE_VECTOR, sparse, limit))
    return store.fuse(collection, lists, "rrf" if fusion == "rrf" else "dbsf", k)


def query_idfs(
    store: VectorStore, collection: str, sparse: SparseVector, n_docs: int, known: dict[int, float] | None = None
) -> list[float]:
    """IDF(t) as Qdrant computes it, for every query term: ``known`` ones as given, the others by one single-term
    probe per term (in one batch call); IDF = score / stored weight of the best document. A term in no document
    gets ln(1 + (N + 0.5) / 0.5)."""
    if not sparse.indices:
        return []
    known = known or {}
    probed = [t for t in sparse.indices if t not in known]
    requests = [VectorQuery(SPARSE_VECTOR, SparseVector([t], [1.0]), 1) for t in probed]
    found = dict(known)
    for term, hits in zip(probed, store.query_batch(collection, requests, vectors=[SPARSE_VECTOR])):
        idf = qdrant_idf(n_docs, 0)
        if hits:
            point = hits[0]
            vec = point.vectors.get(SPARSE_VECTOR)
            weight = dict(zip(vec.indices, vec.values)).get(term) if vec is not None else None
            if weight:
                idf = point.score / weight
        found[term] = idf
    return [found[t] for t in sparse.indices]


def idfs_from_scores(sparse: SparseVector, points: Sequence[Hit]) -> dict[int, float]:
    """IDF(t) of the query terms that occur in ``points`` (BM25 hits with their ``bm25`` vectors), solved from their
    scores: Qdrant scores a document as Σ_t IDF(t) · q_t · w_dt, one linear equation per hit (least squares). Only
    when the equations determine every term they hold (full column rank, residual ~0) are the IDFs returned; else
    ``{}`` (then :func:`query_idfs` probes each term)."""
    query = dict(zip(sparse.indices, sparse.values))
    rows, scores, terms = [], [], [t for t in sparse.indices]
    for p in points:
        vec = p.vectors.get(SPARSE_VECTOR)
        if vec is None:
            return {}
        weights = dict(zip(vec.indices, vec.values))
        rows.append([query[t] * weights.get(t, 0.0) for t in terms])
        scores.append(p.score)
    if not rows:
        return {}
    a, b = np.asarray(rows, dtype=np.float64), np.asarray(scores, dtype=np.float64)
    present = a.any(axis=0)
    a = a[:, present]
    if np.linalg.matrix_rank(a) < a.shape[1]:
        return {}
    solution, *_ = np.linalg.lstsq(a, b, rcond=None)
    if np.abs(a @ solution - b).max() > 1e-4 * max(1.0, np.abs(b).max()):
        return {}
    return dict(zip([t for t, keep in zip(terms, present) if keep], solution.tolist()))


def convex_fusion(
    store: VectorStore, collection: str, dense: Sequence[float], sparse: SparseVector, k: int,
    with_multivector: bool, settings: SparseSettings, n_docs: int, alpha: float | None = None, with_doc: bool = True,
) -> list[Hit]:
    """The ``convex`` fusion (module docstring): candidates from every list, then each candidate's exact score in
    every list, combined here; ``score`` is the combined score. ``alpha``: weight of the dense side (``None``:
    :data:`CONVEX_ALPHA`).

    Two store calls: the candidates (the best :data:`PREFETCH` of each list), then every candidate's exact score in
    every list (the lists restricted to the candidates). The IDFs of the BM25 ceiling are solved from the candidates'
    BM25 scores (:func:`idfs_from_scores`), one probe per term only when they do not determine them."""
    alpha = CONVEX_ALPHA if alpha is None else alpha
    limit = max(PREFETCH, k)
    lists = dense_queries(dense, with_multivector, with_doc, limit)
    if sparse.indices:
        lists.append(VectorQuery(SPARSE_VECTOR, sparse, limit))
    first = store.query_batch(collection, lists)
    ids = list(dict.fromkeys(p.point_id for r in first for p in r))
    if not ids:
        return []
    candidates = set(ids)
    scored = store.query_batch(collection, [VectorQuery(q.using, q.vector, len(ids), ids) for q in lists])
    n_dense = len(lists) - (1 if sparse.indices else 0)
    combined = dict.fromkeys(ids, 0.0)
    for response in scored[:n_dense]:
        scores = {p.point_id: p.score for p in response if p.point_id in candidates}
        low, high = min(scores.values(), default=0.0), max(scores.values(), default=0.0)
        for pid in ids:
            s = scores.get(pid, low)
            combined[pid] += alpha * ((s - low) / (high - low) if high > low else 1.0) / n_dense
    if sparse.indices:
        top = first[-1]
        vectors = {r.point_id: r.vectors for r in store.retrieve(collection, [p.point_id for p in top], payload=False,
                                                                  vectors=[SPARSE_VECTOR])}
        solved = idfs_from_scores(sparse, [Hit(p.rank, p.score, {}, p.point_id, vectors.get(p.point_id, {}))
                                           for p in top])
        ceiling = max_attainable(query_idfs(store, collection, sparse, n_docs, known=solved), settings)
        for p in scored[-1]:
            if p.point_id in candidates:
                combined[p.point_id] += (1 - alpha) * (p.score / ceiling if ceiling > 0 else 0.0)
    best = sorted(ids, key=lambda pid: -combined[pid])[:k]
    records = {r.point_id: r for r in store.retrieve(collection, best, payload=True)}
    return [Hit(rank=i + 1, score=combined[pid], payload=records[pid].payload, point_id=pid)
            for i, pid in enumerate(best)]
