"""The ``bm25`` sparse vector of a collection: its recorded analyzer, length statistics, re-weighting, and adding
it to a collection built without it (from the stored text, no model).

Metadata layout (key ``sparse`` of the collection's metadata, beside ``settings``; the dense settings and their
fingerprint are untouched, so adding ``bm25`` never re-embeds a document)::

    {"bm25": {language, stemmer, stop_words, token_pattern, k1, b},
     "stats": {"n_docs": int, "total_length": int, "avgdl_ref": float}}

Each point's payload holds ``bm25_length`` (|D| in terms).
"""

from __future__ import annotations

import logging

from dataclasses import replace

from longembed.errors import StoreError
from longembed.sparse.analyzer import Analyzer, SparseSettings
from longembed.sparse.bm25 import LengthStats, document_weights
from longembed.store import DOC_VECTOR, MULTI_VECTOR, SPARSE_VECTOR, Record, VectorStore

log = logging.getLogger(__name__)

LENGTH_FIELD = "bm25_length"
PAGE = 256
REBUILD_SUFFIX = "--bm25-rebuild"


def sparse_settings(store: VectorStore, collection: str) -> SparseSettings | None:
    """The analyzer recorded in ``collection``, or ``None`` when it has no ``bm25`` vector."""
    if not store.has_sparse(collection):
        return None
    recorded = (store.metadata(collection).get("sparse") or {}).get(SPARSE_VECTOR)
    return SparseSettings.from_dict(recorded) if recorded else SparseSettings()


def length_stats(store: VectorStore, collection: str) -> LengthStats:
    return LengthStats.from_dict((store.metadata(collection).get("sparse") or {}).get("stats"))


def _write_stats(store: VectorStore, collection: str, settings: SparseSettings, stats: LengthStats) -> None:
    store.update_metadata(collection, {"sparse": {SPARSE_VECTOR: settings.to_dict(), "stats": stats.to_dict()}})


def refresh_stats(store: VectorStore, collection: str) -> LengthStats:
    """Recount ``n_docs`` and ``total_length`` from the points' ``bm25_length``; re-weight every point when the
    mean drifted more than 20 % from ``avgdl_ref`` (see :mod:`longembed.sparse.bm25`). Returns the stats kept."""
    settings = sparse_settings(store, collection)
    if settings is None:
        return LengthStats()
    stats = length_stats(store, collection)
    lengths = [int(p.payload.get(LENGTH_FIELD, 0)) for p in store.scroll(collection, payload=[LENGTH_FIELD], page=PAGE)]
    stats.n_docs, stats.total_length = len(lengths), sum(lengths)
    if stats.drifted():
        log.info("bm25: mean length %.1f drifted from %.1f; re-weighting %d documents", stats.avgdl,
                 stats.avgdl_ref, stats.n_docs)
        stats = reweight(store, collection, settings, stats)
    _write_stats(store, collection, settings, stats)
    return stats


def reweight(store: VectorStore, collection: str, settings: SparseSettings, stats: LengthStats) -> LengthStats:
    """Recompute every point's ``bm25`` weights from its stored ``text`` with avgdl = the current mean.

    Raises:
        StoreError: a write fails (points not yet re-weighted keep their old weights, which stay valid BM25
            weights for the old ``avgdl_ref``; the next ingest or ``longembed add-bm25`` finishes).
    """
    analyzer = Analyzer(settings)
    avgdl = stats.avgdl
    batch: list[Record] = []
    for point in store.scroll(collection, payload=["text"], page=PAGE):
        counts, length = analyzer.term_counts(str(point.payload.get("text", "")))
        batch.append(Record(point.point_id, vectors={SPARSE_VECTOR: document_weights(counts, length, avgdl, settings)}))
        if len(batch) == PAGE:
            store.update_vectors(collection, batch)
            batch = []
    store.update_vectors(collection, batch)
    return LengthStats(stats.n_docs, stats.total_length, avgdl)


def add_bm25(store: VectorStore, collection: str, settings: SparseSettings | None = None) -> int:
    """Give ``collection`` (built without it) the ``bm25`` sparse vector, computed from each point's stored
    text; dense vectors (``doc`` and the multivector) and payloads are copied as they are (nothing is embedded).
    Returns the points.

    Qdrant cannot add a vector to an existing collection, so the points are copied into a new collection
    ``<name>--bm25-rebuild`` (with ``bm25``), the original is re-created with ``bm25`` and the copy moved back.
    Killed at any step, the next call resumes: the rebuild collection is complete before the original is dropped.

    Raises:
        CollectionNotFound, StoreError: no such collection, or it already has ``bm25``.
    """
    settings = settings or SparseSettings()
    tmp = collection + REBUILD_SUFFIX
    if store.exists(collection) and store.has_sparse(collection):
        if not store.exists(tmp):
            raise StoreError(f"collection {collection!r} already has the {SPARSE_VECTOR!r} sparse vector")
        store.delete_collection(tmp)  # a finished rebuild killed before it cleaned up
        return store.count(collection)
    if store.exists(tmp) and store.exists(collection):
        store.delete_collection(tmp)  # an unfinished copy: start again
    if not store.exists(tmp):
        store.settings(collection)  # CollectionNotFound / not a longembed collection
        _copy(store, collection, tmp, settings, compute=True)
    store.delete_collection(collection)
    n = _copy(store, tmp, collection, settings, compute=False)
    store.delete_collection(tmp)
    refresh_stats(store, collection)
    return n


def _copy(store: VectorStore, source: str, target: str, settings: SparseSettings, compute: bool) -> int:
    """Copy every point of ``source`` into a new ``target`` with ``bm25`` (computed from the text when ``compute``)."""
    meta = store.metadata(source)
    schema = replace(store.schema(source), sparse=True)
    names = [DOC_VECTOR, *([MULTI_VECTOR] if schema.multivector else []), *([SPARSE_VECTOR] if not compute else [])]
    analyzer = Analyzer(settings)
    stats = LengthStats.from_dict((meta.get("sparse") or {}).get("stats"))
    rows: list[tuple[Record, dict | None]] = []  # point, term counts
    for p in store.scroll(source, payload=True, vectors=names, page=PAGE):
        counts = None
        if compute:
            counts, p.payload[LENGTH_FIELD] = analyzer.term_counts(str(p.payload.get("text", "")))
        rows.append((p, counts))
    lengths = [int(p.payload.get(LENGTH_FIELD, 0)) for p, _ in rows]
    if compute:
        stats = LengthStats(len(lengths), sum(lengths), sum(lengths) / len(lengths) if lengths else 0.0)
    points = []
    for (p, counts), length in zip(rows, lengths):
        if counts is not None:  # weighted now that avgdl is known
            p.vectors[SPARSE_VECTOR] = document_weights(counts, length, stats.avgdl_ref, settings)
        points.append(p)
    meta["sparse"] = {SPARSE_VECTOR: settings.to_dict(), "stats": stats.to_dict()}
    store.create_collection(target, schema, meta)
    for start in range(0, len(points), PAGE):
        store.upsert_records(target, points[start : start + PAGE])
    if store.count(target) != len(points):
        raise StoreError(f"copying {source!r} to {target!r} lost points; {source!r} was kept")
    return len(points)


__all__ = ["DOC_VECTOR", "LENGTH_FIELD", "add_bm25", "length_stats", "refresh_stats", "reweight", "sparse_settings"]
