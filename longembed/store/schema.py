"""What a store holds, independent of the backend: vector names, point ids, the document payload, and the
records that travel between the store and its callers (:class:`StoredDocument`, :class:`StoredState`, :class:`Hit`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypedDict

DOC_VECTOR = "doc"
CHUNKS_VECTOR = "chunks"
"""Optional multivector of a document's chunk embeddings (Qdrant MAX_SIM: a document scores as its best chunk)."""
SPARSE_VECTOR = "bm25"
"""Optional sparse vector of BM25 term weights (Qdrant ``Modifier.IDF``: IDF applied at query time); see
:mod:`longembed.sparse`. Its analyzer and length statistics live in the metadata key ``sparse``."""
POINT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/longembed/longembed/point")
SCROLL_PAGE = 1000
STATE_FIELDS = ["path", "sha256", "settings_fingerprint", "source", "file_size", "file_mtime_ns"]
"""Payload fields read by :meth:`Store.stored_documents` (never the text or the vector)."""


class DocumentPayload(TypedDict, total=False):
    """The payload of one document's point: written by the ingest step, read by every reader (the retriever, the
    skip/replace triage, the server, the LlamaIndex adapter). One schema; a field is added here first.

    Units: characters for ``text_chars`` and the passage offsets, tokens for ``n_tokens`` and ``bm25_length``,
    bytes for ``file_size``, nanoseconds since the epoch for ``file_mtime_ns``.
    """

    path: str
    """The document's stored path (relative to its ingested root, or absolute; see longembed.ingest.identity)."""
    title: str
    sha256: str
    """SHA-256 of the stored text (hex); with ``settings_fingerprint`` it decides whether a re-ingest re-embeds."""
    n_tokens: int
    truncated: bool
    text: str
    """The document's text, at most :data:`MAX_STORED_TEXT_CHARS` characters."""
    text_chars: int
    source: str
    encoding: str
    settings_fingerprint: str
    file_size: int
    file_mtime_ns: int
    bm25_length: int
    """Analyzed terms of the text (collections with ``bm25``)."""
    passages: list[list[int]]
    """``[start, end)`` character offsets of each passage into ``text`` (collections with passages), in the order
    of the ``chunks`` multivector's rows."""


MAX_STORED_TEXT_CHARS = 1_000_000
"""Longest text kept in a point's payload (for snippets and passages); ``text_chars`` records the full length."""


def point_id(relative_path: str) -> str:
    """The point id of a document: UUID5 of its path relative to the ingested root (POSIX separators)."""
    return str(uuid.uuid5(POINT_NAMESPACE, relative_path))


@dataclass(frozen=True)
class StoredDocument:
    """One document to write: its vector (shape (d,)) and payload (path, title, sha256, n_tokens, truncated, text).

    ``chunks`` (shape (n_chunks, d)) is written as the ``chunks`` multivector; only for collections created
    with ``with_chunks=True``. ``sparse`` (term ids, BM25 weights) is written as the ``bm25`` sparse vector; only
    for collections created with ``sparse``.
    """

    path: str
    vector: list[float]
    payload: dict[str, Any]
    chunks: list[list[float]] | None = None
    sparse: Any = None
    """A :class:`longembed.sparse.bm25.SparseVector` (``indices``, ``values``), or ``None``."""


@dataclass(frozen=True)
class StoredState:
    """What a stored point says about its document: enough to skip, replace or prune it without its vector."""

    point_id: str
    path: str
    sha256: str
    settings_fingerprint: str
    source: str
    file_size: int = -1
    """Size in bytes of the file when it was read (``-1``: not recorded); with ``file_mtime_ns`` it lets a
    re-ingest skip an unchanged file without parsing it."""
    file_mtime_ns: int = -1


@dataclass(frozen=True)
class Hit:
    """One search result; ``score`` is the cosine similarity."""

    rank: int
    score: float
    payload: dict[str, Any]
