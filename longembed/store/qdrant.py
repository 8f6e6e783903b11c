"""qdrant-client's implementation of :class:`~longembed.store.protocol.VectorStore`: a Qdrant server or cluster
(``--qdrant-url``), or a store directory written by qdrant-client's local mode (a read-only one, which cannot be
converted to Qdrant Edge, and the source of :mod:`longembed.store.conversion`).

Collections hold one named dense vector ``doc`` (cosine) per document, and optionally a ``chunks`` multivector
(passages, or the chunked baselines; MAX_SIM) and the ``bm25`` sparse vector (IDF modifier). The collection's
metadata holds the :class:`~longembed.settings.IndexSettings` that built it and the vector dimension.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from qdrant_client import QdrantClient, models

from longembed.errors import CollectionNotFound, StoreError, first_line
from longembed.settings import DEFAULT_STORE
from longembed.store.cluster import ClusterLayout
from longembed.store.collections import DerivedOperations
from longembed.store.local import check_local_store
from longembed.store.locked_calls import LockedCalls
from longembed.store.safe_pickle import check_local_rows, is_writable, read_only_client
from longembed.store.qdrant_types import (
    client_filter, client_payload, client_query, client_vectors, hits_from_client, record_from_client,
)
from longembed.store.schema import (
    DOC_VECTOR, MULTI_VECTOR, SPARSE_VECTOR, CollectionSchema, Fusion, Hit, Record, VectorQuery,
)

log = logging.getLogger(__name__)


class QdrantClientStore(DerivedOperations):
    """A Qdrant client on an embedded local directory (default) or a Qdrant server.

    A local store directory is checked before Qdrant opens it, and is never recreated or emptied: a path that
    is a file, a non-empty folder that is not a store, a store whose ``meta.json`` is unreadable or whose
    collection data is missing, or one written by an incompatible qdrant-client each raise
    :class:`StoreError` and leave the directory untouched.

    Args:
        path: directory of the embedded store (created when missing and ``create``); ignored when ``url`` is given.
        url: Qdrant server URL, e.g. ``http://localhost:6333``.
        create: create a missing local store directory (``False`` for read-only uses such as queries).
        layout: shards, replication factor and on-disk storage of the collections this store creates on a
            server (:class:`~longembed.store.cluster.ClusterLayout`; default: the server's).

    Raises:
        StoreError: the local store is held by another process, is damaged or incompatible, does not exist
            (``create=False``), or the server cannot be reached.
    """

    def __init__(
        self, path: str | Path = DEFAULT_STORE, url: str | None = None, create: bool = True,
        layout: ClusterLayout | None = None,
    ) -> None:
        self.location = url or str(path)
        self.layout = layout or ClusterLayout()
        if url:
            self.client = _open_server(url)
            return
        collections = check_local_store(Path(path), create)
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
            raise StoreError(f"cannot open the store {self.location}: {first_line(exc)}") from None
        except OSError as exc:
            raise StoreError(f"cannot open the store {self.location}: {exc.strerror or first_line(exc)}") from None
        except Exception as exc:  # json, pydantic, sqlite3 errors from a damaged or foreign store
            raise StoreError(
                f"cannot open the store {self.location}: it is damaged or was written by an incompatible "
                f"qdrant-client ({type(exc).__name__}: {first_line(exc)}); it was left untouched: restore it "
                "from a backup, or move it away and ingest again"
            ) from None

    def close(self) -> None:
        self.client.close()

    def serialize_calls(self, lock: threading.RLock) -> None:
        """From now on every call to the Qdrant client holds ``lock`` (a server's request threads share one store;
        the embedded local mode is not thread-safe)."""
        self.client = LockedCalls(self.client, lock)

    def __enter__(self) -> QdrantClientStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- collections -------------------------------------------------------------------------------------
    def exists(self, collection: str) -> bool:
        try:
            return self.client.collection_exists(collection)
        except ValueError:  # local mode: a name it does not allow
            return False

    def collections(self) -> list[str]:
        return sorted(c.name for c in self.client.get_collections().collections)

    def _config(self, collection: str) -> Any:
        if not self.exists(collection):
            have = ", ".join(self.collections()) or "none"
            raise CollectionNotFound(f"collection {collection!r} does not exist in {self.location} (collections: {have})")
        return self.client.get_collection(collection).config

    def schema(self, collection: str) -> CollectionSchema:
        config = self._config(collection)
        vectors = config.params.vectors
        dense = vectors if isinstance(vectors, dict) else {DOC_VECTOR: vectors}
        return CollectionSchema(
            dimension=int(dense[DOC_VECTOR].size), multivector=MULTI_VECTOR in dense,
            sparse=SPARSE_VECTOR in (config.params.sparse_vectors or {}),
        )

    def metadata(self, collection: str) -> dict[str, Any]:
        """The collection's metadata (settings, dimension, and ``sparse`` where it has ``bm25``)."""
        return dict(self._config(collection).metadata or {})

    def update_metadata(self, collection: str, metadata: dict[str, Any]) -> None:
        """Set top-level metadata keys (the others stay)."""
        self._guarded("update", collection, lambda: self.client.update_collection(collection, metadata=metadata))

    def create_collection(self, collection: str, schema: CollectionSchema, metadata: dict[str, Any]) -> None:
        on_disk = True if self.layout.on_disk else None
        vectors = {
            DOC_VECTOR: models.VectorParams(size=schema.dimension, distance=models.Distance.COSINE, on_disk=on_disk)
        }
        if schema.multivector:
            vectors[MULTI_VECTOR] = models.VectorParams(
                size=schema.dimension,
                distance=models.Distance.COSINE,
                multivector_config=models.MultiVectorConfig(comparator=models.MultiVectorComparator.MAX_SIM),
                on_disk=on_disk,
            )
        sparse = {SPARSE_VECTOR: models.SparseVectorParams(modifier=models.Modifier.IDF)} if schema.sparse else None
        try:
            self.client.create_collection(
                collection, vectors_config=vectors, sparse_vectors_config=sparse, metadata=metadata,
                **self.layout.collection_params(),
            )
        except ValueError as exc:  # local mode: a name that is not allowed (e.g. "../x")
            raise StoreError(f"cannot create collection {collection!r}: {first_line(exc)}") from None
        except Exception as exc:
            raise StoreError(
                f"cannot create collection {collection!r} in {self.location}: {first_line(exc)}"
            ) from None

    def delete_collection(self, collection: str) -> None:
        """Drop ``collection`` and its points (no error when it does not exist)."""
        if self.exists(collection):
            self.client.delete_collection(collection)

    # -- points ------------------------------------------------------------------------------------------
    def upsert_records(self, collection: str, records: Sequence[Record]) -> None:
        """Write points whole (one SQLite transaction per point in local mode: a crash leaves each old or new)."""
        points = [
            models.PointStruct(id=r.point_id, vector=client_vectors(r.vectors), payload=r.payload) for r in records
        ]
        if points:
            self._guarded("write to", collection, lambda: self.client.upsert(collection, points=points, wait=True))

    def update_vectors(self, collection: str, records: Sequence[Record]) -> None:
        vectors = [models.PointVectors(id=r.point_id, vector=client_vectors(r.vectors)) for r in records]
        if vectors:
            self._guarded("update", collection, lambda: self.client.update_vectors(collection, vectors, wait=True))

    def set_payload(self, collection: str, point: str, payload: dict[str, Any]) -> None:
        """Overwrite the given payload fields of one point (its vector and other fields stay)."""
        self._guarded(
            "update", collection, lambda: self.client.set_payload(collection, payload, points=[point], wait=True)
        )

    def delete(self, collection: str, points: Iterable[str]) -> None:
        """Delete points by id."""
        ids = list(points)
        if ids:
            self._guarded(
                "delete from",
                collection,
                lambda: self.client.delete(collection, points_selector=models.PointIdsList(points=ids), wait=True),
            )

    def retrieve(
        self, collection: str, ids: Sequence[str], payload: bool | Sequence[str] = True, vectors: Sequence[str] = ()
    ) -> list[Record]:
        if not ids:
            return []
        found = self.client.retrieve(
            collection, ids=list(ids), with_payload=client_payload(payload), with_vectors=list(vectors) or False
        )
        return [record_from_client(r) for r in found]

    def scroll(
        self, collection: str, payload: bool | Sequence[str] = True, vectors: Sequence[str] = (), page: int = 256
    ) -> Iterator[Record]:
        offset = None
        while True:
            found, offset = self.client.scroll(
                collection, limit=page, offset=offset, with_payload=client_payload(payload),
                with_vectors=list(vectors) or False,
            )
            yield from (record_from_client(r) for r in found)
            if offset is None:
                return

    def count(self, collection: str) -> int:
        return self.client.count(collection, exact=True).count

    # -- search ------------------------------------------------------------------------------------------
    def _query_batch(
        self, collection: str, queries: Sequence[VectorQuery], payload: bool, vectors: Sequence[str]
    ) -> list[list[Hit]]:
        requests = [
            models.QueryRequest(
                query=client_query(q), using=q.using, limit=q.limit, filter=client_filter(q), with_payload=payload,
                with_vector=list(vectors) or False,
            )
            for q in queries
        ]
        return [hits_from_client(r.points) for r in self.client.query_batch_points(collection, requests)]

    def _fuse(self, collection: str, queries: Sequence[VectorQuery], fusion: Fusion, k: int) -> list[Hit]:
        prefetch = [
            models.Prefetch(query=client_query(q), using=q.using, limit=q.limit, filter=client_filter(q))
            for q in queries
        ]
        # Qdrant's default rank constant for RRF is RRF_K, the one EdgeStore passes explicitly
        query = models.FusionQuery(fusion=models.Fusion.RRF if fusion == "rrf" else models.Fusion.DBSF)
        response = self.client.query_points(collection, prefetch=prefetch, query=query, limit=k, with_payload=True)
        return hits_from_client(response.points)


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
            raise StoreError(f"cannot reach the Qdrant server at {url}: {first_line(exc)}") from None
    for warning in caught:
        log.warning("%s", first_line(Exception(str(warning.message))))
    return client
