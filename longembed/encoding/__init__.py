"""Passages of a document (:mod:`~longembed.encoding.passages`) and their vectors
(:mod:`~longembed.encoding.pooling`)."""
