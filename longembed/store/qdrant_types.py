"""longembed's records, queries and vectors in qdrant-client's types, and back (for
:class:`longembed.store.qdrant.QdrantClientStore`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qdrant_client import models

from longembed.store.schema import MULTI_VECTOR, SPARSE_VECTOR, Hit, Record, SparseVector, VectorQuery


def client_payload(payload: bool | Sequence[str]) -> Any:
    """``payload`` as qdrant-client takes it: ``True``/``False``, or a list of payload fields."""
    return payload if isinstance(payload, bool) else list(payload)


def client_vectors(vectors: dict[str, Any]) -> dict[str, Any]:
    """Named vectors in qdrant-client's types (``bm25`` as its ``SparseVector``)."""
    return {
        name: models.SparseVector(indices=list(v.indices), values=list(v.values)) if name == SPARSE_VECTOR else v
        for name, v in vectors.items()
    }


def vectors_from_client(vectors: Any) -> dict[str, Any]:
    """Named vectors from qdrant-client (``{}`` when none were asked for)."""
    if not isinstance(vectors, dict):
        return {}
    return {
        name: SparseVector(list(v.indices), list(v.values)) if name == SPARSE_VECTOR else v
        for name, v in vectors.items()
    }


def record_from_client(r: Any) -> Record:
    """One point from qdrant-client as a :class:`Record`."""
    return Record(point_id=str(r.id), payload=dict(r.payload or {}), vectors=vectors_from_client(r.vector))


def hits_from_client(points: Any) -> list[Hit]:
    """Scored points from qdrant-client as :class:`Hit` objects, ranked from 1 in their order."""
    return [
        Hit(rank=i + 1, score=float(p.score), payload=dict(p.payload or {}), point_id=str(p.id),
            vectors=vectors_from_client(p.vector))
        for i, p in enumerate(points)
    ]


def client_query(q: VectorQuery) -> Any:
    """The query vector of ``q`` as qdrant-client takes it (a one-vector multivector for ``chunks``)."""
    if q.using == SPARSE_VECTOR:
        return models.SparseVector(indices=list(q.vector.indices), values=list(q.vector.values))
    return [list(q.vector)] if q.using == MULTI_VECTOR else list(q.vector)


def client_filter(q: VectorQuery) -> Any:
    """``q``'s point-id filter, ``None`` for all points."""
    return None if q.ids is None else models.Filter(must=[models.HasIdCondition(has_id=list(q.ids))])
