"""The Qdrant store: client (embedded local path or server URL), collection schema and metadata, points.

Collections hold one named dense vector ``doc`` (cosine) per document, laid out so that further named
vectors (a ``chunks`` multivector for chunked baselines) can sit beside it. The collection's metadata
holds the :class:`~longembed.settings.IndexSettings` that built it and the vector dimension.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient, models

from longembed.errors import CollectionNotFound, StoreError
from longembed.settings import IndexSettings

DEFAULT_STORE = ".longembed"
"""Default directory of the embedded (local-mode) Qdrant store, relative to the working directory."""
DEFAULT_COLLECTION = "default"
DOC_VECTOR = "doc"
CHUNKS_VECTOR = "chunks"
"""Optional multivector of a document's chunk embeddings (Qdrant MAX_SIM: a document scores as its best chunk)."""
POINT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/longembed/longembed/point")


def point_id(relative_path: str) -> str:
    """The point id of a document: UUID5 of its path relative to the ingested root (POSIX separators)."""
    return str(uuid.uuid5(POINT_NAMESPACE, relative_path))


@dataclass(frozen=True)
class StoredDocument:
    """One document to write: its vector (shape (d,)) and payload (path, title, sha256, n_tokens, truncated, text).

    ``chunks`` (shape (n_chunks, d)) is written as the ``chunks`` multivector; only for collections created
    with ``with_chunks=True``.
    """

    path: str
    vector: list[float]
    payload: dict[str, Any]
    chunks: list[list[float]] | None = None


@dataclass(frozen=True)
class Hit:
    """One search result; ``score`` is the cosine similarity."""

    rank: int
    score: float
    payload: dict[str, Any]


class Store:
    """A Qdrant client on an embedded local directory (default) or a Qdrant server.

    Args:
        path: directory of the embedded store (created when missing); ignored when ``url`` is given.
        url: Qdrant server URL, e.g. ``http://localhost:6333``.

    Raises:
        StoreError: the local store is held by another process, or the server cannot be reached.
    """

    def __init__(self, path: str | Path = DEFAULT_STORE, url: str | None = None) -> None:
        self.location = url or str(path)
        try:
            if url:
                self.client = QdrantClient(url=url, timeout=10)
                self.client.get_collections()
            else:
                self.client = QdrantClient(path=str(path))
        except RuntimeError as exc:
            if "already accessed" in str(exc):
                raise StoreError(
                    f"the store {path} is in use by another longembed process (Qdrant's local mode allows one); "
                    "stop that process (e.g. `longembed serve`; a running server takes documents with POST /ingest) "
                    "or use a Qdrant server with --qdrant-url"
                ) from None
            raise StoreError(f"cannot open the store {self.location}: {exc}") from None
        except Exception as exc:
            if url:
                raise StoreError(f"cannot reach the Qdrant server at {url}: {exc}") from None
            raise StoreError(f"cannot open the store {self.location}: {exc}") from None

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- collections -------------------------------------------------------------------------------------
    def exists(self, collection: str) -> bool:
        return self.client.collection_exists(collection)

    def collections(self) -> list[str]:
        return sorted(c.name for c in self.client.get_collections().collections)

    def settings(self, collection: str) -> IndexSettings:
        """The settings recorded in ``collection``.

        Raises:
            CollectionNotFound: no such collection (the message lists those that exist).
            StoreError: the collection was not made by longembed.
        """
        if not self.exists(collection):
            have = ", ".join(self.collections()) or "none"
            raise CollectionNotFound(
                f"collection {collection!r} does not exist in {self.location} (collections: {have}); "
                "create it with `longembed ingest`"
            )
        metadata = self.client.get_collection(collection).config.metadata or {}
        if "settings" not in metadata:
            raise StoreError(f"collection {collection!r} in {self.location} was not created by longembed")
        return IndexSettings.from_dict(metadata["settings"])

    def check_settings(self, collection: str, settings: IndexSettings) -> None:
        """Refuse to write to an existing ``collection`` built with other settings.

        Raises:
            StoreError: the recorded settings differ (the message names the differences).
        """
        diffs = self.settings(collection).differences(settings)
        if diffs:
            raise StoreError(
                f"collection {collection!r} was built with other settings ({'; '.join(diffs)}); "
                "ingest with the same settings or choose another --collection"
            )

    def ensure_collection(
        self, collection: str, settings: IndexSettings, dimension: int, with_chunks: bool = False
    ) -> None:
        """Create ``collection`` for ``settings``, or check that an existing one was built with the same settings.

        With ``with_chunks`` the collection also holds a ``chunks`` multivector per document (cosine,
        ``MultiVectorConfig`` with MAX_SIM), for the chunked MaxP baseline.

        Raises:
            StoreError: the collection exists with other settings (the message names the differences), or
                ``with_chunks`` is asked of an existing collection without chunks.
        """
        if self.exists(collection):
            self.check_settings(collection, settings)
            if with_chunks and not self.has_chunks(collection):
                raise StoreError(f"collection {collection!r} has no {CHUNKS_VECTOR!r} multivector")
            return
        vectors = {DOC_VECTOR: models.VectorParams(size=dimension, distance=models.Distance.COSINE)}
        if with_chunks:
            vectors[CHUNKS_VECTOR] = models.VectorParams(
                size=dimension,
                distance=models.Distance.COSINE,
                multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM),
            )
        self.client.create_collection(
            collection,
            vectors_config=vectors,
            metadata={"settings": settings.to_dict(), "dimension": dimension, "created_by": "longembed"},
        )

    def has_chunks(self, collection: str) -> bool:
        """Whether ``collection`` holds a ``chunks`` multivector next to ``doc``."""
        vectors = self.client.get_collection(collection).config.params.vectors
        return isinstance(vectors, dict) and CHUNKS_VECTOR in vectors

    def delete_collection(self, collection: str) -> None:
        """Drop ``collection`` and its points (no error when it does not exist)."""
        if self.exists(collection):
            self.client.delete_collection(collection)

    # -- points ------------------------------------------------------------------------------------------
    def upsert(self, collection: str, documents: list[StoredDocument]) -> None:
        """Write documents in one batch; a document whose path is already stored replaces its point."""
        if not documents:
            return
        self.client.upsert(
            collection,
            points=[
                models.PointStruct(
                    id=point_id(d.path),
                    vector={DOC_VECTOR: d.vector, **({CHUNKS_VECTOR: d.chunks} if d.chunks is not None else {})},
                    payload=d.payload,
                )
                for d in documents
            ],
            wait=True,
        )

    def count(self, collection: str) -> int:
        return self.client.count(collection, exact=True).count

    def vector_counts(self, collection: str) -> dict[str, int]:
        """How many vectors each named vector of ``collection`` holds (``doc``: one per point; ``chunks``: all chunks).

        Reads every point's vectors, so it costs a pass over the collection.
        """
        names = [DOC_VECTOR, *([CHUNKS_VECTOR] if self.has_chunks(collection) else [])]
        counts = dict.fromkeys(names, 0)
        offset = None
        while True:
            records, offset = self.client.scroll(
                collection, limit=256, offset=offset, with_payload=False, with_vectors=names
            )
            for record in records:
                vectors = record.vector or {}
                counts[DOC_VECTOR] += DOC_VECTOR in vectors
                if CHUNKS_VECTOR in counts:
                    counts[CHUNKS_VECTOR] += len(vectors.get(CHUNKS_VECTOR) or [])
            if offset is None:
                return counts

    def search(self, collection: str, vector: list[float], k: int, using: str = DOC_VECTOR) -> list[Hit]:
        """The ``k`` nearest documents to ``vector`` (shape (d,)) by cosine similarity, best first.

        With ``using="chunks"`` a document scores as its best chunk: max over chunks of cosine(vector, chunk)
        (Qdrant MAX_SIM with a one-vector query).

        Raises:
            StoreError: ``using`` names a vector the collection does not have.
        """
        if using == CHUNKS_VECTOR:
            if not self.has_chunks(collection):
                raise StoreError(f"collection {collection!r} has no {CHUNKS_VECTOR!r} multivector")
            query: Any = [vector]
        elif using == DOC_VECTOR:
            query = vector
        else:
            raise StoreError(f"unknown vector {using!r}; valid: {DOC_VECTOR}, {CHUNKS_VECTOR}")
        response = self.client.query_points(
            collection, query=query, using=using, limit=k, with_payload=True
        )
        return [Hit(rank=i + 1, score=float(p.score), payload=p.payload or {}) for i, p in enumerate(response.points)]
