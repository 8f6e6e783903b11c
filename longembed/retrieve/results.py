"""How strongly a hit matched (``match``), the ``min_score`` filter, and the one serialisation of a search result
that ``longembed query --json``, ``POST /search`` and the LlamaIndex adapter share.

**match** is a cosine similarity in [-1, 1] between the query vector and the hit's own vectors, computed the same
way whatever the mode and fusion that ranked it (fused ``rrf``/``dbsf``/``convex`` scores are rank- or
batch-relative and carry no absolute meaning):

- a document of a collection with passages: the cosine of its best passage (the ``passage.score``);
- a document without passages (``--passages none``, older collections): the cosine of its whole-document vector;
- a passage (``unit="passage"``): its cosine (its ``score``).

``min_score`` keeps, of the ``k`` best results, those whose ``match`` is at least that value (so fewer than ``k``,
possibly none); :data:`DEFAULT_MIN_SCORE` is ``None``: nothing is filtered, every result reports its ``match``.
:data:`SUGGESTED_MIN_SCORE` is the threshold measured to separate off-topic queries from answered ones on the
dev data with the default model (``docs/benchmarks/RESULTS.md``, "No-match signal").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from longembed.errors import LongEmbedError
from longembed.store import DOC_VECTOR, Hit, VectorStore, point_id

SNIPPET_CHARS = 200
"""Longest snippet cut from a document's text when it has no best passage (characters)."""
PASSAGE_SNIPPET_CHARS = 600
"""Longest snippet cut from a hit's best passage (a passage is at most ``passage_size`` tokens)."""
DEFAULT_MIN_SCORE: float | None = None
"""The default ``min_score``: ``None``, report ``match`` on every result and filter nothing (see the module
docstring for why; pass :data:`SUGGESTED_MIN_SCORE` or your own value to filter)."""
SUGGESTED_MIN_SCORE = 0.40
"""A ``min_score`` for the default model (all-MiniLM-L6-v2): measured on the dev data, see
``docs/benchmarks/RESULTS.md`` ("No-match signal")."""


def check_min_score(value: Any, name: str = "min_score") -> float | None:
    """``value`` as a ``min_score``: ``None``, or a finite number from -1 to 1 (a cosine similarity); a string
    (the command line's ``--min-score``, named ``name`` in the message) is parsed as a number first.

    Raises:
        LongEmbedError: not a number, NaN or infinite, or outside [-1, 1].
    """
    if value is None:
        return None
    number = value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number) \
            or not -1 <= number <= 1:
        shown = value if isinstance(value, str) else repr(value)
        raise LongEmbedError(f"{name} must be a number from -1 to 1 (a cosine similarity), got {shown[:40]!r}")
    return float(number)


def document_cosines(store: VectorStore, collection: str, hits: list[Hit], query: np.ndarray) -> list[float | None]:
    """Per hit, the cosine of the query vector ``query`` (shape (d,), L2-normalised) with its ``doc`` vector (stored
    L2-normalised, so the dot product), in [-1, 1]; ``None`` for a point without one."""
    if not hits:
        return []
    ids = [point_id(str(h.payload.get("path", ""))) for h in hits]
    vectors = {r.point_id: r.vectors.get(DOC_VECTOR) for r in store.retrieve(collection, ids, payload=False,
                                                                                vectors=[DOC_VECTOR])}
    out: list[float | None] = []
    for pid in ids:
        vector = vectors.get(pid)
        out.append(None if not vector else float(np.asarray(vector, dtype=np.float32) @ query))
    return out


def match_scores(
    store: VectorStore, collection: str, hits: list[Hit], passages: list[dict[str, Any] | None], query: np.ndarray
) -> list[float]:
    """Per hit, its ``match`` (module docstring): its best passage's cosine, else its document's cosine (0.0 for
    a point with neither, which no stored point lacks)."""
    out: list[float | None] = [p["score"] if p is not None else None for p in passages]
    missing = [i for i, m in enumerate(out) if m is None]
    if missing:
        cosines = document_cosines(store, collection, [hits[i] for i in missing], query)
        for i, cosine in zip(missing, cosines):
            out[i] = cosine
    return [0.0 if m is None else round(float(m), 6) for m in out]


def document_result(hit: Hit, passage: dict[str, Any] | None, match: float) -> dict[str, Any]:
    """The serialisation of one document hit (``longembed query --json``, ``POST /search``): ``rank`` (1-based),
    ``score`` (the mode's: cosine, BM25 or fused), ``match`` (cosine in [-1, 1], module docstring), ``path``,
    ``title``, ``snippet``, ``n_tokens``, ``truncated`` and ``passage`` (the best passage or ``None``)."""
    if passage is not None:
        snippet = " ".join(passage["text"].split())[:PASSAGE_SNIPPET_CHARS]
    else:
        snippet = " ".join(str(hit.payload.get("text", "")).split())[:SNIPPET_CHARS]
    return {
        "rank": hit.rank,
        "score": hit.score,
        "match": match,
        "path": hit.payload.get("path"),
        "title": hit.payload.get("title"),
        "snippet": snippet,
        "n_tokens": hit.payload.get("n_tokens"),
        "truncated": hit.payload.get("truncated"),
        "passage": passage,
    }


def at_least(results: list[dict[str, Any]], min_score: float | None) -> list[dict[str, Any]]:
    """The ``results`` whose ``match`` is at least ``min_score`` (all of them for ``None``), ranks kept."""
    if min_score is None:
        return results
    return [r for r in results if r["match"] >= min_score]
