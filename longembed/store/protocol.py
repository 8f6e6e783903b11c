"""The plug-in point for stores: everything ingest, retrieval, BM25 maintenance, the server and the bench need of
one (:class:`VectorStore`). :class:`longembed.store.edge.EdgeStore` (embedded Qdrant Edge) and
:class:`longembed.store.qdrant.QdrantClientStore` (qdrant-client: a server or cluster) implement it; another backend implements
these methods in one module, adds itself to :data:`longembed.store.backends.BACKENDS`, and the rest of longembed
runs on it unchanged. Only ``longembed/store/`` imports a Qdrant client.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from longembed.settings import IndexSettings
from longembed.store.schema import (
    CollectionSchema, Fusion, Hit, Record, StoredDocument, StoredState, VectorQuery,
)


@runtime_checkable
class VectorStore(Protocol):
    """Collections of document points, each with named vectors and a :class:`~longembed.store.schema.DocumentPayload`.

    Vectors per point: ``doc`` (dense, shape (d,), cosine), optionally ``chunks`` (a multivector, shape
    (n_passages, d), scored MAX_SIM: a document scores as its best row) and ``bm25`` (sparse term ids and weights,
    IDF applied by the store at query time: ln(1 + (N − n_t + 0.5) / (n_t + 0.5))). A collection records the
    :class:`IndexSettings` that built it in its metadata (a JSON object).

    Every write raises :class:`~longembed.errors.StoreError` on failure and keeps what was written before.
    """

    location: str
    """Where the store lives (a directory or a URL), for messages."""

    # -- collections -------------------------------------------------------------------------------------
    def exists(self, collection: str) -> bool: ...

    def collections(self) -> list[str]: ...

    def schema(self, collection: str) -> CollectionSchema:
        """The named vectors of ``collection`` (dimension, ``chunks``, ``bm25``)."""
        ...

    def create_collection(self, collection: str, schema: CollectionSchema, metadata: dict[str, Any]) -> None:
        """Create an empty ``collection`` with ``schema``'s vectors and ``metadata``. Raises StoreError (a name the
        backend refuses, an existing collection)."""
        ...

    def metadata(self, collection: str) -> dict[str, Any]: ...

    def update_metadata(self, collection: str, metadata: dict[str, Any]) -> None:
        """Set top-level metadata keys (the others stay)."""
        ...

    def delete_collection(self, collection: str) -> None:
        """Drop ``collection`` and its points (no error when it does not exist)."""
        ...

    def settings(self, collection: str) -> IndexSettings:
        """The collection's recorded settings. Raises CollectionNotFound (naming the existing ones)."""
        ...

    def collection_info(self, collection: str) -> dict[str, Any]:
        """Name, documents and recorded settings (passage fields always). Raises CollectionNotFound, StoreError."""
        ...

    def collection_infos(self) -> list[dict[str, Any]]:
        """:meth:`collection_info` of every collection longembed made (the others are left out)."""
        ...

    def check_settings(self, collection: str, settings: IndexSettings) -> None:
        """Raises StoreError naming the differences when ``collection`` was built with other settings."""
        ...

    def ensure_collection(
        self, collection: str, settings: IndexSettings, dimension: int, with_multivector: bool = False,
        sparse: Any = None,
    ) -> None:
        """Create ``collection`` (``doc`` of ``dimension`` floats; ``chunks`` and ``bm25`` when asked) or check an
        existing one. Raises StoreError on other settings."""
        ...

    def has_multivector(self, collection: str) -> bool: ...

    def has_sparse(self, collection: str) -> bool: ...

    # -- points ------------------------------------------------------------------------------------------
    def upsert(self, collection: str, documents: list[StoredDocument]) -> None:
        """Write whole points (each either old or new after a crash)."""
        ...

    def upsert_records(self, collection: str, records: Sequence[Record]) -> None:
        """Write points given as records (id, payload, named vectors), e.g. copied from another collection."""
        ...

    def update_vectors(self, collection: str, records: Sequence[Record]) -> None:
        """Replace the named vectors each record holds (payload and other vectors stay)."""
        ...

    def set_payload(self, collection: str, point: str, payload: dict[str, Any]) -> None: ...

    def delete(self, collection: str, points: Iterable[str]) -> None: ...

    def retrieve(
        self, collection: str, ids: Sequence[str], payload: bool | Sequence[str] = True, vectors: Sequence[str] = ()
    ) -> list[Record]:
        """The points ``ids`` that exist (any order), with the payload fields asked for (``True``: all) and the
        named ``vectors``."""
        ...

    def scroll(
        self, collection: str, payload: bool | Sequence[str] = True, vectors: Sequence[str] = (), page: int = 256
    ) -> Iterator[Record]:
        """Every point of ``collection``, read ``page`` at a time."""
        ...

    def stored_documents(self, collection: str) -> dict[str, StoredState]:
        """Point id -> what its payload says (no text, no vectors): enough to skip, replace or prune."""
        ...

    def count(self, collection: str) -> int: ...

    def vector_counts(self, collection: str) -> dict[str, int]: ...

    # -- search ------------------------------------------------------------------------------------------
    def search(self, collection: str, vector: list[float], k: int, using: str = "doc") -> list[Hit]:
        """The ``k`` best points for a dense query ``vector`` (shape (d,)) against ``using`` (``doc`` or
        ``chunks``), best first, with their payloads."""
        ...

    def query_batch(
        self, collection: str, queries: Sequence[VectorQuery], payload: bool = False, vectors: Sequence[str] = ()
    ) -> list[list[Hit]]:
        """One ranked list per query (best first; exact scores: cosine, MaxSim cosine, or BM25 with the store's
        IDF), each hit with ``point_id`` and, when asked, its payload and named ``vectors``."""
        ...

    def fuse(self, collection: str, queries: Sequence[VectorQuery], fusion: Fusion, k: int) -> list[Hit]:
        """The ``k`` best points of the fused lists (``rrf``: Σ 1 / (rank + RRF_K − 1); ``dbsf``: each list scaled
        by mean ± 3 std, summed), with their payloads; an empty ``queries`` gives ``[]``."""
        ...

    # -- lifetime ----------------------------------------------------------------------------------------
    def close(self) -> None: ...

    def __enter__(self) -> VectorStore: ...

    def __exit__(self, *exc: object) -> None:
        """Closes the store."""
        ...

    def serialize_calls(self, lock: Any) -> None:
        """From now on every call holds ``lock`` (an ``RLock``; the server's request threads share one store)."""
        ...
