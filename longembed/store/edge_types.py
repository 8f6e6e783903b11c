"""longembed's records, queries and collection schemas in Qdrant Edge's types, and back (for
:class:`longembed.store.edge.EdgeStore`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import qdrant_edge as qe

from longembed.store.schema import (
    DOC_VECTOR, MULTI_VECTOR, SPARSE_VECTOR, CollectionSchema, Hit, SparseVector, VectorQuery,
)


def edge_config(schema: CollectionSchema) -> qe.EdgeConfig:
    """The shard's vectors, float32. Passage vectors as float16 halve a MaxSim scan (10,000 documents x 60 passages:
    46 -> 20 ms, perf/PERF.md section 9); they were reverted while a bench re-run failure was chased that turned out
    to be the order of exact ties (now fixed in EdgeStore), and can come back once their tolerances are re-checked."""
    vectors = {DOC_VECTOR: qe.EdgeVectorParams(size=schema.dimension, distance=qe.Distance.Cosine)}
    if schema.multivector:
        vectors[MULTI_VECTOR] = qe.EdgeVectorParams(
            size=schema.dimension, distance=qe.Distance.Cosine,
            multivector_config=qe.MultiVectorConfig(qe.MultiVectorComparator.MaxSim),
        )
    sparse = {SPARSE_VECTOR: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)} if schema.sparse else None
    return qe.EdgeConfig(vectors=vectors, sparse_vectors=sparse)


def to_edge(vectors: dict[str, Any]) -> dict[str, Any]:
    """Named vectors as Qdrant Edge takes them (a ``bm25`` :class:`SparseVector` as Qdrant Edge's own)."""
    return {
        name: qe.SparseVector(list(v.indices), list(v.values)) if name == SPARSE_VECTOR else v
        for name, v in vectors.items()
    }


def from_edge(vectors: Any) -> dict[str, Any]:
    """Named vectors as Qdrant Edge returns them, back to longembed's (``{}`` when none were asked for)."""
    if not isinstance(vectors, dict):
        return {}
    return {
        name: SparseVector(list(v.indices), [float(x) for x in v.values]) if name == SPARSE_VECTOR else v
        for name, v in vectors.items()
    }


def payload_selector(payload: bool | Sequence[str]) -> Any:
    return payload if isinstance(payload, bool) else qe.PayloadSelector.Include(list(payload))


def edge_query(q: VectorQuery) -> Any:
    """The nearest-neighbour query of ``q`` (``chunks``: a one-vector MaxSim query, shape (1, d))."""
    if q.using == SPARSE_VECTOR:
        vector: Any = qe.SparseVector(list(q.vector.indices), list(q.vector.values))
    elif q.using == MULTI_VECTOR:
        vector = [list(q.vector)]  # a one-vector MaxSim query
    else:
        vector = list(q.vector)
    return qe.Query.Nearest(vector, using=q.using)


def edge_filter(q: VectorQuery) -> Any:
    """A filter to ``q.ids`` (``None``: every point)."""
    return None if q.ids is None else qe.Filter(must=[qe.HasIdCondition({str(i) for i in q.ids})])


def edge_hit(index: int, point: Any) -> Hit:
    return Hit(rank=index + 1, score=float(point.score), payload=dict(point.payload or {}), point_id=str(point.id),
               vectors=from_edge(point.vector))
