"""Passage-level results over a collection with passages (``chunks`` multivector + ``passages`` spans payload).

A passage's score is the cosine similarity of the query vector with its stored vector, computed here from the
vectors the store returns, so a document hit from any mode (dense, sparse, hybrid) names its best
passage, and ``unit="passage"`` ranks the passages of the candidate documents.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from longembed.store import CHUNKS_VECTOR, Hit, VectorStore, point_id

def passage_vectors(store: VectorStore, collection: str, hits: list[Hit]) -> dict[str, np.ndarray]:
    """Path -> the document's passage vectors, shape (n_passages, d), for the hits whose point has them."""
    paths = [str(h.payload.get("path", "")) for h in hits if h.payload.get("passages")]
    if not paths:
        return {}
    ids = {point_id(p): p for p in paths}
    out = {}
    for record in store.retrieve(collection, list(ids), payload=False, vectors=[CHUNKS_VECTOR]):
        vectors = record.vectors.get(CHUNKS_VECTOR)
        if vectors:
            out[ids[record.point_id]] = np.asarray(vectors, dtype=np.float32)
    return out


def _passage(payload: dict[str, Any], index: int, score: float) -> dict[str, Any]:
    start, end = payload["passages"][index]
    return {"text": str(payload.get("text", ""))[start:end], "start_char": int(start), "end_char": int(end),
            "score": float(score)}


def best_passages(store: VectorStore, collection: str, hits: list[Hit], query: np.ndarray) -> list[dict[str, Any] | None]:
    """Per hit, its best passage ``{"text", "start_char", "end_char", "score"}`` for the query vector ``query``
    (shape (d,), L2-normalised); ``None`` for a document stored without passages."""
    vectors = passage_vectors(store, collection, hits)
    out: list[dict[str, Any] | None] = []
    for hit in hits:
        found = vectors.get(str(hit.payload.get("path", "")))
        spans = hit.payload.get("passages") or []
        if found is None or len(found) != len(spans):
            out.append(None)
            continue
        scores = found @ query
        best = int(np.argmax(scores))
        out.append(_passage(hit.payload, best, scores[best]))
    return out


def top_passages(store: VectorStore, collection: str, hits: list[Hit], query: np.ndarray, k: int) -> list[dict[str, Any]]:
    """The ``k`` best passages of the documents ``hits`` by cosine with ``query`` (shape (d,)), best first: dicts
    with ``rank``, ``score``, ``path``, ``title``, ``text``, ``start_char``, ``end_char`` and ``document_rank``
    (the rank of its document among ``hits``)."""
    vectors = passage_vectors(store, collection, hits)
    scored = []
    for hit in hits:
        found = vectors.get(str(hit.payload.get("path", "")))
        if found is None or len(found) != len(hit.payload.get("passages") or []):
            continue
        for index, score in enumerate(found @ query):
            scored.append((float(score), hit, index))
    scored.sort(key=lambda item: -item[0])
    out = []
    for rank, (score, hit, index) in enumerate(scored[:k], start=1):
        passage = _passage(hit.payload, index, score)
        out.append({"rank": rank, "score": score, "path": hit.payload.get("path"), "title": hit.payload.get("title"),
                    "text": passage["text"], "start_char": passage["start_char"], "end_char": passage["end_char"],
                    "document_rank": hit.rank})
    return out
