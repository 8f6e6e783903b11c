"""The plug-in point for stores: what ingest, retrieval, the server and the bench need of one
(:class:`VectorStore`). :class:`longembed.store.qdrant.Store` implements it over Qdrant (embedded local mode or a
server); another backend implements these methods and the rest of longembed runs on it unchanged."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, runtime_checkable

from longembed.settings import IndexSettings
from longembed.store.schema import Hit, StoredDocument, StoredState


@runtime_checkable
class VectorStore(Protocol):
    """Collections of document points, each with named vectors and a :class:`~longembed.store.schema.DocumentPayload`.

    Vectors per point: ``doc`` (dense, shape (d,), cosine), optionally ``chunks`` (a multivector, shape
    (n_passages, d), scored MAX_SIM: a document scores as its best row) and ``bm25`` (sparse term ids and weights,
    IDF applied by the store at query time). A collection records the :class:`IndexSettings` that built it.
    """

    location: str
    """Where the store lives (a directory or a URL), for messages."""

    def exists(self, collection: str) -> bool: ...

    def collections(self) -> list[str]: ...

    def settings(self, collection: str) -> IndexSettings:
        """The collection's recorded settings. Raises CollectionNotFound (naming the existing ones)."""
        ...

    def check_settings(self, collection: str, settings: IndexSettings) -> None:
        """Raises StoreError naming the differences when ``collection`` was built with other settings."""
        ...

    def ensure_collection(
        self, collection: str, settings: IndexSettings, dimension: int, with_chunks: bool = False, sparse: Any = None
    ) -> None:
        """Create ``collection`` (``doc`` of ``dimension`` floats; ``chunks`` and ``bm25`` when asked) or check an
        existing one. Raises StoreError on other settings."""
        ...

    def has_chunks(self, collection: str) -> bool: ...

    def has_sparse(self, collection: str) -> bool: ...

    def metadata(self, collection: str) -> dict[str, Any]: ...

    def update_metadata(self, collection: str, metadata: dict[str, Any]) -> None: ...

    def delete_collection(self, collection: str) -> None: ...

    def upsert(self, collection: str, documents: list[StoredDocument]) -> None:
        """Write whole points (each either old or new after a crash). Raises StoreError; earlier writes stay."""
        ...

    def set_payload(self, collection: str, point: str, payload: dict[str, Any]) -> None: ...

    def delete(self, collection: str, points: Iterable[str]) -> None: ...

    def stored_documents(self, collection: str) -> dict[str, StoredState]:
        """Point id -> what its payload says (no text, no vectors): enough to skip, replace or prune."""
        ...

    def count(self, collection: str) -> int: ...

    def vector_counts(self, collection: str) -> dict[str, int]: ...

    def search(self, collection: str, vector: list[float], k: int, using: str = "doc") -> list[Hit]:
        """The ``k`` best points for a dense query ``vector`` (shape (d,)) against ``using`` (``doc`` or
        ``chunks``), best first, with their payloads."""
        ...

    def close(self) -> None: ...

    def serialize_calls(self, lock: Any) -> None:
        """From now on every call holds ``lock`` (an ``RLock``; the server's request threads share one store)."""
        ...
