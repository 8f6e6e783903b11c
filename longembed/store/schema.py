"""What a store holds, independent of the backend: vector names, point ids, the document payload, and the
records that travel between the store and its callers (:class:`StoredDocument`, :class:`StoredState`, :class:`Hit`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict, Union

DOC_VECTOR = "doc"
MULTI_VECTOR = "chunks"
"""Optional multivector of a document (Qdrant MAX_SIM: a document scores as its best row): its passage vectors
(``--passages``), or for the bench's ``chunked-maxp`` baseline its L_o-token window vectors. The Python name says
what it is; the stored name stays ``chunks``, the name every existing collection (Qdrant Edge, qdrant-client,
server) was written with, so that they open and search unchanged."""
CHUNKS_VECTOR = MULTI_VECTOR
"""The former name of :data:`MULTI_VECTOR`, still importable from :mod:`longembed.store`."""
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

    ``multivector`` (shape (n, d): passage or window vectors) is written as the ``chunks`` multivector
    (:data:`MULTI_VECTOR`); only for collections created with ``with_multivector=True``. ``sparse`` (term ids,
    BM25 weights) is written as the ``bm25`` sparse vector; only for collections created with ``sparse``.
    """

    path: str
    vector: list[float]
    payload: dict[str, Any]
    multivector: list[list[float]] | None = None
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
class SparseVector:
    """A sparse vector: term ids (u32, ascending) and their weights, same length (the ``bm25`` vector's value)."""

    indices: list[int]
    values: list[float]


VectorValue = Union[list[float], list[list[float]], SparseVector]
"""A named vector's value: ``doc`` shape (d,), ``chunks`` shape (n, d), ``bm25`` a :class:`SparseVector`."""

Fusion = Literal["rrf", "dbsf"]
"""Fusions a store computes itself (:meth:`VectorStore.fuse`): reciprocal rank fusion and distribution-based score
fusion. ``convex`` is computed by the retriever from :meth:`VectorStore.query_batch` scores."""
RRF_K = 2
"""The rank constant of ``rrf``: a point at 1-based ``rank`` in a list adds 1 / (rank + RRF_K - 1) (Cormack et al.
2009), the default of qdrant-client's local mode and of the Qdrant server (``DEFAULT_RANKING_CONSTANT_K``); every
backend gives this exact score so that rankings and scores agree."""


@dataclass(frozen=True)
class VectorQuery:
    """One ranked list asked of a store: the points nearest to ``vector`` on the named vector ``using``.

    ``using``: ``doc`` (``vector`` shape (d,), cosine), ``chunks`` (``vector`` shape (d,): a one-vector MaxSim query,
    a point scores as its best passage) or ``bm25`` (a :class:`SparseVector`; dot product with the store's IDF).
    ``ids``: only these point ids are scored (``None``: every point). ``limit``: at most this many points.
    """

    using: str
    vector: Any
    limit: int
    ids: Sequence[str] | None = None


@dataclass(frozen=True)
class Record:
    """One point as read back from a store: its id, payload (the fields asked for) and named vectors (those asked
    for; a point without a vector has no key for it)."""

    point_id: str
    payload: dict[str, Any] = field(default_factory=dict)
    vectors: dict[str, VectorValue] = field(default_factory=dict)


@dataclass(frozen=True)
class CollectionSchema:
    """The named vectors of a collection: ``doc`` of ``dimension`` floats (cosine), ``chunks`` (:data:`MULTI_VECTOR`,
    a MaxSim multivector of the same size) when ``multivector``, ``bm25`` (sparse, IDF modifier) when ``sparse``.

    Written to disk by :meth:`to_stored` under the keys ``dimension``, ``chunks``, ``sparse`` (the key the
    collections already on disk hold), read back by :meth:`from_stored`."""

    dimension: int
    multivector: bool = False
    sparse: bool = False

    @property
    def chunks(self) -> bool:
        """The former name of :attr:`multivector` (read only)."""
        return self.multivector

    def to_stored(self) -> dict[str, Any]:
        """The schema as stored (Qdrant Edge's ``collection.json``): the multivector flag under its stored name."""
        return {"dimension": self.dimension, MULTI_VECTOR: self.multivector, "sparse": self.sparse}

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> CollectionSchema:
        """The schema :meth:`to_stored` wrote (the same keys, none added or dropped)."""
        return cls(**{"multivector" if key == MULTI_VECTOR else key: value for key, value in stored.items()})


@dataclass(frozen=True)
class Hit:
    """One search result; ``score`` is the cosine similarity (dense), the BM25 score (sparse) or the fused score.

    ``point_id``: the point's id; ``vectors``: the named vectors asked for with the query (empty otherwise)."""

    rank: int
    score: float
    payload: dict[str, Any]
    point_id: str = ""
    vectors: dict[str, VectorValue] = field(default_factory=dict)
