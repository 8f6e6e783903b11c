"""BM25 sparse vectors: the analyzer that cuts text into terms and the client-side BM25 term weights."""

from longembed.sparse.analyzer import Analyzer, SparseSettings, term_id

__all__ = ["Analyzer", "SparseSettings", "term_id"]
