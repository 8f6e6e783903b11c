"""Client-side BM25 term weights for the ``bm25`` sparse vector; Qdrant supplies the IDF (``Modifier.IDF``).

Okapi BM25 (Robertson & Zaragoza 2009, "The Probabilistic Relevance Framework: BM25 and Beyond", Foundations
and Trends in IR 3(4), eq. 3.15 with the query-term frequency ignored, i.e. k3 = 0)::

    score(D, Q) = Σ_{t ∈ Q}  IDF(t) · tf(t, D) · (k1 + 1) / (tf(t, D) + k1 · (1 − b + b · |D| / avgdl))

- the fraction (the term-frequency saturation with length normalisation) is the weight stored for term t in
  document D's sparse vector (:func:`document_weights`);
- IDF(t) = ln(1 + (N − n(t) + 0.5) / (n(t) + 0.5)) is computed by Qdrant at query time from the collection
  (N points with a ``bm25`` vector, n(t) of them containing t), so incremental ingest keeps IDF exact;
- the query's sparse vector is 1.0 for each distinct query term (:func:`query_vector`), so Qdrant's dot product
  gives exactly the sum above.

**A changing average document length.** avgdl is not known before the collection exists and moves as documents
arrive. The collection's metadata records ``n_docs`` and ``total_length`` (kept current after every ingest
batch, so avgdl = total_length / n_docs is the true mean) and ``avgdl_ref``, the avgdl every stored weight was
computed with (the first batch's mean for a new collection). All points use the same ``avgdl_ref``, so scores
are exact BM25 with avgdl = avgdl_ref. When the true mean drifts more than :data:`AVGDL_DRIFT` (20 %) from
``avgdl_ref``, the end of the ingest run re-weights every point from its stored text with the current mean
(:func:`longembed.sparse.index.reweight`; term counts only, no model) and records the new ``avgdl_ref``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from longembed.sparse.analyzer import Analyzer, SparseSettings, term_id
from longembed.store.schema import SparseVector

AVGDL_DRIFT = 0.2
"""Relative difference between the collection's mean document length and ``avgdl_ref`` that triggers a re-weight."""


@dataclass
class LengthStats:
    """Document-length statistics of a collection's ``bm25`` vectors (lengths in terms, after stop words).

    Attributes:
        n_docs: points with a ``bm25`` vector.
        total_length: sum of their lengths |D|.
        avgdl_ref: the avgdl the stored weights were computed with (0: none stored yet).
    """

    n_docs: int = 0
    total_length: int = 0
    avgdl_ref: float = 0.0

    @property
    def avgdl(self) -> float:
        """The current mean document length (0 for an empty collection)."""
        return self.total_length / self.n_docs if self.n_docs else 0.0

    def drifted(self) -> bool:
        """Whether the current mean differs from ``avgdl_ref`` by more than :data:`AVGDL_DRIFT`."""
        return bool(self.avgdl_ref and self.n_docs and abs(self.avgdl / self.avgdl_ref - 1) > AVGDL_DRIFT)

    def to_dict(self) -> dict[str, float]:
        return {"n_docs": self.n_docs, "total_length": self.total_length, "avgdl_ref": self.avgdl_ref}

    @classmethod
    def from_dict(cls, data: Mapping[str, float] | None) -> LengthStats:
        data = data or {}
        return cls(int(data.get("n_docs", 0)), int(data.get("total_length", 0)), float(data.get("avgdl_ref", 0.0)))


def document_weights(
    counts: Mapping[int, int], length: int, avgdl: float, settings: SparseSettings
) -> SparseVector:
    """The BM25 weight tf·(k1+1) / (tf + k1·(1 − b + b·|D|/avgdl)) of every term of one document.

    Args:
        counts: term id -> tf(t, D) (from :meth:`Analyzer.term_counts`).
        length: |D| in terms.
        avgdl: the average document length the collection's weights use (``avgdl_ref``); ≤ 0 means |D|.
        settings: k1 and b.
    """
    k1, b = settings.k1, settings.b
    norm = k1 * (1 - b + b * length / avgdl) if avgdl > 0 else k1
    indices = sorted(counts)
    return SparseVector(indices, [counts[i] * (k1 + 1) / (counts[i] + norm) for i in indices])


def query_vector(analyzer: Analyzer, text: str) -> SparseVector:
    """The query's sparse vector: 1.0 for each distinct term of ``text`` (empty when no term survives)."""
    ids = sorted({term_id(t) for t in analyzer.terms(text)})
    return SparseVector(ids, [1.0] * len(ids))


def qdrant_idf(n_docs: int, doc_freq: int) -> float:
    """Qdrant's ``Modifier.IDF``: ln(1 + (N − n + 0.5) / (n + 0.5)) (the BM25 IDF, always positive)."""
    return math.log(1 + (n_docs - doc_freq + 0.5) / (doc_freq + 0.5))


def max_attainable(idfs: Iterable[float], settings: SparseSettings) -> float:
    """The BM25 score no document can exceed for a query: Σ_t IDF(t) · (k1 + 1) (every term saturated, tf → ∞).

    Dividing a BM25 score by it gives a value in [0, 1) that says how much of the query's lexical evidence a
    document holds; used by the ``convex`` fusion so that a few incidental matches stay weak.
    """
    return sum(idfs) * (settings.k1 + 1)
