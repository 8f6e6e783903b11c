"""Old name of :mod:`longembed.sparse.bm25_run` (it shadowed the ``longembed.ingest`` package by name), kept only until
``longembed/ingest/pipeline.py`` imports from the new name; delete it then."""

from longembed.sparse.bm25_run import SPARSE_CHOICES, SparseChoice, SparseRun

__all__ = ["SPARSE_CHOICES", "SparseChoice", "SparseRun"]
