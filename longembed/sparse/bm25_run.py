"""The ``bm25`` part of one ingest run: which analyzer, and the avgdl the run's weights use.

Term counts are computed in the ingest worker thread (``prepare``); the weights (cheap arithmetic) when the
batch is written, with the collection's ``avgdl_ref`` (set from the first batch of a new collection and recorded
at once, so a run killed afterwards resumes with the same reference). After the run the statistics are
recounted, and every point re-weighted when the mean length drifted (:func:`longembed.sparse.index.refresh_stats`).
"""

from __future__ import annotations

from dataclasses import dataclass

from longembed.errors import LongEmbedError
from longembed.settings import SPARSE_CHOICES, SparseChoice
from longembed.sparse.analyzer import Analyzer, SparseSettings
from longembed.sparse.bm25 import LengthStats
from longembed.sparse.index import _write_stats, length_stats, refresh_stats, sparse_settings
from longembed.store import VectorStore

__all__ = ["SPARSE_CHOICES", "SparseChoice", "SparseRun"]


@dataclass
class SparseRun:
    """``settings``/``analyzer`` are ``None`` when the collection has (or gets) no ``bm25`` vector."""

    settings: SparseSettings | None = None
    analyzer: Analyzer | None = None
    avgdl_ref: float = 0.0
    store: VectorStore | None = None
    collection: str = ""

    @property
    def active(self) -> bool:
        return self.settings is not None

    @classmethod
    def start(cls, store: VectorStore, collection: str, choice: str, exists: bool) -> SparseRun:
        """An existing collection keeps what it has (``choice`` applies to new collections only).

        Raises:
            LongEmbedError: ``choice`` is not one of ``bm25``, ``none``.
        """
        if choice not in SPARSE_CHOICES:
            raise LongEmbedError(f"unknown --sparse {choice!r}; valid: {', '.join(SPARSE_CHOICES)}")
        if exists:
            settings = sparse_settings(store, collection)
            avgdl = length_stats(store, collection).avgdl_ref if settings else 0.0
        else:
            settings, avgdl = (SparseSettings() if choice == "bm25" else None), 0.0
        return cls(settings, Analyzer(settings) if settings else None, avgdl, store, collection)

    def reference(self, term_counts: list[tuple[dict[int, int], int]] | None) -> float:
        """The avgdl for this batch's weights; the first batch of a new collection sets (and records) it."""
        if self.active and not self.avgdl_ref and term_counts:
            lengths = [length for _, length in term_counts]
            self.avgdl_ref = max(sum(lengths) / len(lengths), 1.0)
            _write_stats(self.store, self.collection, self.settings, LengthStats(0, 0, self.avgdl_ref))
        return self.avgdl_ref

    def refresh(self, store: VectorStore, collection: str) -> None:
        """After the run's writes: recount the length statistics (:func:`~longembed.sparse.index.refresh_stats`)."""
        if self.active and store.exists(collection):
            self.avgdl_ref = refresh_stats(store, collection).avgdl_ref
