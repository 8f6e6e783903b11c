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
POINT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/longembed/longembed/point")


def point_id(relative_path: str) -> str:
    """The point id of a document: UUID5 of its path relative to the ingested root (POSIX separators)."""
    return str(uuid.uuid5(POINT_NAMESPACE, relative_path))


@dataclass(frozen=True)
class StoredDocument:
    """One document to write: its vector (shape (d,)) and payload (path, title, sha256, n_tokens, truncated, text)."""

    path: str
    vector: list[float]
    payload: dict[str, Any]


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

    def ensure_collection(self, collection: str, settings: IndexSettings, dimension: int) -> None:
        """Create ``collection`` for ``settings``, or check that an existing one was built with the same settings.

        Raises:
            StoreError: the collection exists with other settings (the message names the differences).
        """
        if self.exists(collection):
            self.check_settings(collection, settings)
            return
        self.client.create_collection(
            collection,
            vectors_config={DOC_VECTOR: models.VectorParams(size=dimension, distance=models.Distance.COSINE)},
            metadata={"settings": settings.to_dict(), "dimension": dimension, "created_by": "longembed"},
        )

    # -- points ------------------------------------------------------------------------------------------
    def upsert(self, collection: str, documents: list[StoredDocument]) -> None:
        """Write documents in one batch; a document whose path is already stored replaces its point."""
        if not documents:
            return
        self.client.upsert(
            collection,
            points=[
                models.PointStruct(id=point_id(d.path), vector={DOC_VECTOR: d.vector}, payload=d.payload)
                for d in documents
            ],
            wait=True,
        )

    def count(self, collection: str) -> int:
        return self.client.count(collection, exact=True).count

    def search(self, collection: str, vector: list[float], k: int) -> list[Hit]:
        """The ``k`` nearest documents to ``vector`` (shape (d,)) by cosine similarity, best first."""
        response = self.client.query_points(
            collection, query=vector, using=DOC_VECTOR, limit=k, with_payload=True
        )
        return [Hit(rank=i + 1, score=float(p.score), payload=p.payload or {}) for i, p in enumerate(response.points)]
