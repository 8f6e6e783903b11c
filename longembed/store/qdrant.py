"""The Qdrant implementation of :class:`~longembed.store.protocol.VectorStore`: client (embedded local path or
server URL), collection schema and metadata, points.

Collections hold one named dense vector ``doc`` (cosine) per document, and optionally a ``chunks`` multivector
(passages, or the chunked baselines; MAX_SIM) and the ``bm25`` sparse vector (IDF modifier). The collection's
metadata holds the :class:`~longembed.settings.IndexSettings` that built it and the vector dimension.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient, models

from longembed.errors import CollectionNotFound, StoreError
from longembed.store.safe_pickle import check_local_rows, is_writable, read_only_client
from longembed.settings import DEFAULT_STORE, SETTINGS_VERSION, IndexSettings

from longembed.store.local import _check_local_store, _first_line
from longembed.store.serialized import Serialized
from longembed.store.schema import (
    CHUNKS_VECTOR,
    DOC_VECTOR,
    SCROLL_PAGE,
    SPARSE_VECTOR,
    STATE_FIELDS,
    Hit,
    StoredDocument,
    StoredState,
    point_id,
)

log = logging.getLogger(__name__)


class Store:
    """A Qdrant client on an embedded local directory (default) or a Qdrant server.

    A local store directory is checked before Qdrant opens it, and is never recreated or emptied: a path that
    is a file, a non-empty folder that is not a store, a store whose ``meta.json`` is unreadable or whose
    collection data is missing, or one written by an incompatible qdrant-client each raise
    :class:`StoreError` and leave the directory untouched.

    Args:
        path: directory of the embedded store (created when missing and ``create``); ignored when ``url`` is given.
        url: Qdrant server URL, e.g. ``http://localhost:6333``.
        create: create a missing local store directory (``False`` for read-only uses such as queries).

    Raises:
        StoreError: the local store is held by another process, is damaged or incompatible, does not exist
            (``create=False``), or the server cannot be reached.
    """

    def __init__(self, path: str | Path = DEFAULT_STORE, url: str | None = None, create: bool = True) -> None:
        self.location = url or str(path)
        if url:
            self.client = _open_server(url)
            return
        collections = _check_local_store(Path(path), create)
        self.read_only = False
        if not create and collections is not None and not is_writable(Path(path)):
            # a store on a read-only disk or without write permission: query a checked copy in memory
            self.client = read_only_client(Path(path), collections)
            self.read_only = True
            return
        if collections:
            check_local_rows(Path(path), collections)  # before qdrant-client unpickles them
        try:
            self.client = QdrantClient(path=str(path))
        except RuntimeError as exc:
            if "already accessed" in str(exc):
                raise StoreError(
                    f"the store {path} is in use by another longembed process (Qdrant's local mode allows one); "
                    "stop that process (e.g. `longembed serve`; a running server takes documents with POST /ingest) "
                    "or use a Qdrant server with --qdrant-url"
                ) from None
            raise StoreError(f"cannot open the store {self.location}: {_first_line(exc)}") from None
        except OSError as exc:
            raise StoreError(f"cannot open the store {self.location}: {exc.strerror or _first_line(exc)}") from None
        except Exception as exc:  # json, pydantic, sqlite3 errors from a damaged or foreign store
            raise StoreError(
                f"cannot open the store {self.location}: it is damaged or was written by an incompatible "
                f"qdrant-client ({type(exc).__name__}: {_first_line(exc)}); it was left untouched: restore it "
                "from a backup, or move it away and ingest again"
            ) from None

    def close(self) -> None:
        self.client.close()

    def serialize_calls(self, lock: threading.RLock) -> None:
        """From now on every call to the Qdrant client holds ``lock`` (a server's request threads share one store;
        the embedded local mode is not thread-safe)."""
        self.client = Serialized(self.client, lock)

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
        version = metadata["settings"].get("settings_version", SETTINGS_VERSION)
        if not isinstance(version, int) or version > SETTINGS_VERSION:
            raise StoreError(
                f"collection {collection!r} in {self.location} was written by a newer longembed (settings version "
                f"{version}, this one reads {SETTINGS_VERSION}); upgrade longembed to use it"
            )
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
                "ingest with the same settings, choose another --collection, or see them with "
                f"`longembed collections info {collection}` and remove it with `longembed collections drop {collection}`"
            )

    def ensure_collection(
        self, collection: str, settings: IndexSettings, dimension: int, with_chunks: bool = False, sparse: Any = None
    ) -> None:
        """Create ``collection`` for ``settings``, or check that an existing one was built with the same settings.

        With ``with_chunks`` the collection also holds a ``chunks`` multivector per document (cosine,
        ``MultiVectorConfig`` with MAX_SIM), for the chunked MaxP baseline. With ``sparse`` (a
        :class:`~longembed.sparse.analyzer.SparseSettings`) a new collection also holds the ``bm25`` sparse vector
        (``Modifier.IDF``) and records the analyzer in its metadata (``sparse``); an existing one is left as it is.

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
        metadata: dict[str, Any] = {"settings": settings.to_dict(), "dimension": dimension, "created_by": "longembed"}
        sparse_config = None
        if sparse is not None:
            sparse_config = {SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)}
            metadata["sparse"] = {SPARSE_VECTOR: sparse.to_dict(), "stats": {}}
        try:
            self.client.create_collection(
                collection,
                vectors_config=vectors,
                sparse_vectors_config=sparse_config,
                metadata=metadata,
            )
        except ValueError as exc:  # local mode: a name that is not allowed (e.g. "../x")
            raise StoreError(f"cannot create collection {collection!r}: {_first_line(exc)}") from None
        except Exception as exc:
            raise StoreError(
                f"cannot create collection {collection!r} in {self.location}: {_first_line(exc)}"
            ) from None

    def has_chunks(self, collection: str) -> bool:
        """Whether ``collection`` holds a ``chunks`` multivector next to ``doc``."""
        vectors = self.client.get_collection(collection).config.params.vectors
        return isinstance(vectors, dict) and CHUNKS_VECTOR in vectors

    def has_sparse(self, collection: str) -> bool:
        """Whether ``collection`` holds the ``bm25`` sparse vector."""
        return SPARSE_VECTOR in (self.client.get_collection(collection).config.params.sparse_vectors or {})

    def metadata(self, collection: str) -> dict[str, Any]:
        """The collection's metadata (settings, dimension, and ``sparse`` where it has ``bm25``)."""
        return dict(self.client.get_collection(collection).config.metadata or {})

    def update_metadata(self, collection: str, metadata: dict[str, Any]) -> None:
        """Set top-level metadata keys (the others stay)."""
        self._write("update", collection, lambda: self.client.update_collection(collection, metadata=metadata))

    def delete_collection(self, collection: str) -> None:
        """Drop ``collection`` and its points (no error when it does not exist)."""
        if self.exists(collection):
            self.client.delete_collection(collection)

    # -- points ------------------------------------------------------------------------------------------
    def upsert(self, collection: str, documents: list[StoredDocument]) -> None:
        """Write documents in one batch; a document whose path is already stored replaces its point.

        Each point is written whole (one SQLite transaction per point in local mode), so a crash leaves every
        point either old or new, never half written.

        Raises:
            StoreError: the write failed (disk full, server gone); points written before are kept.
        """
        if not documents:
            return
        points = [
            models.PointStruct(
                id=point_id(d.path),
                vector={
                    DOC_VECTOR: d.vector,
                    **({CHUNKS_VECTOR: d.chunks} if d.chunks is not None else {}),
                    **(
                        {SPARSE_VECTOR: models.SparseVector(indices=d.sparse.indices, values=d.sparse.values)}
                        if d.sparse is not None
                        else {}
                    ),
                },
                payload=d.payload,
            )
            for d in documents
        ]
        self._write("write to", collection, lambda: self.client.upsert(collection, points=points, wait=True))

    def set_payload(self, collection: str, point: str, payload: dict[str, Any]) -> None:
        """Overwrite the given payload fields of one point (its vector and other fields stay)."""
        self._write(
            "update", collection, lambda: self.client.set_payload(collection, payload, points=[point], wait=True)
        )

    def delete(self, collection: str, points: Iterable[str]) -> None:
        """Delete points by id."""
        ids = list(points)
        if ids:
            self._write(
                "delete from",
                collection,
                lambda: self.client.delete(collection, points_selector=models.PointIdsList(points=ids), wait=True),
            )

    def _write(self, verb: str, collection: str, action) -> None:
        try:
            action()
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(
                f"cannot {verb} collection {collection!r} in {self.location}: {_first_line(exc)}; "
                "everything stored before is kept, run the same command again to resume"
            ) from None

    def stored_documents(self, collection: str) -> dict[str, StoredState]:
        """Point id -> :class:`StoredState` of every point in ``collection`` (payload fields only, no vectors).

        Points written before a field existed have it empty (``""``).
        """
        out: dict[str, StoredState] = {}
        offset = None
        while True:
            points, offset = self.client.scroll(
                collection, limit=SCROLL_PAGE, offset=offset, with_payload=STATE_FIELDS, with_vectors=False
            )
            for p in points:
                payload = p.payload or {}
                out[str(p.id)] = StoredState(
                    point_id=str(p.id),
                    path=str(payload.get("path", "")),
                    sha256=str(payload.get("sha256", "")),
                    settings_fingerprint=str(payload.get("settings_fingerprint", "")),
                    source=str(payload.get("source", "")),
                    file_size=int(payload.get("file_size", -1)),
                    file_mtime_ns=int(payload.get("file_mtime_ns", -1)),
                )
            if offset is None:
                return out

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


def _open_server(url: str) -> QdrantClient:
    """A client for the Qdrant server at ``url``, after one request that proves it answers.

    Raises:
        StoreError: the URL is malformed or nothing answers there.
    """
    with warnings.catch_warnings(record=True) as caught:  # the client warns when it cannot read the version
        warnings.simplefilter("always")
        try:
            client = QdrantClient(url=url, timeout=10)
            client.get_collections()
        except Exception as exc:
            raise StoreError(f"cannot reach the Qdrant server at {url}: {_first_line(exc)}") from None
    for warning in caught:
        log.warning("%s", _first_line(Exception(str(warning.message))))
    return client
