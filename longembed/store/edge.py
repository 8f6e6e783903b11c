"""The embedded store: Qdrant Edge (``qdrant-edge-py``, Qdrant's in-process Rust engine, the server's storage format)
in a store directory, one shard per collection. The default for ``--store DIR``.

The files of a store directory and its lock are :mod:`longembed.store.edge_layout`'s.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import qdrant_edge as qe

from longembed.errors import CollectionNotFound, StoreError, first_line
from longembed.store.collections import DerivedOperations
from longembed.store.edge_layout import (
    COLLECTION_FILE, COLLECTIONS, FORMAT, FORMAT_VERSION, LOCK_FILE, MARKER, NAME_PATTERN, SHARD, hold, is_edge_store,
    read_json, release, write_json,
)
from longembed.store.edge_types import (
    edge_config, edge_filter, edge_hit, edge_query, from_edge, payload_selector, to_edge,
)
from longembed.store.schema import RRF_K, CollectionSchema, Fusion, Hit, Record, VectorQuery

__all__ = ["COLLECTIONS", "COLLECTION_FILE", "FORMAT", "FORMAT_VERSION", "LOCK_FILE", "MARKER", "NAME_PATTERN", "SHARD",
           "EdgeStore", "is_edge_store"]

log = logging.getLogger(__name__)


class EdgeStore(DerivedOperations):
    """A store directory of Qdrant Edge shards, held by this process until :meth:`close`.

    Args:
        path: the store directory (created when missing and ``create``).
        create: create a missing store (``False`` for read-only uses such as queries).

    Raises:
        StoreError: the directory is a file, is missing (``create=False``), is not a store, is damaged, was
            written by a newer longembed, or is held by another process.
    """

    def __init__(self, path: str | Path, create: bool = True) -> None:
        self.path = Path(path)
        self.location = str(path)
        self._shards: dict[str, qe.EdgeShard] = {}
        self._lock: Any = threading.RLock()
        self._lock_handle = None
        marker = self.path / MARKER
        if not marker.exists():
            if not create:
                raise StoreError(f"there is no store at {path}; create one with `longembed ingest PATH --store {path}`")
            self._create()
        info = read_json(marker, str(path))
        if info.get("format") != FORMAT or not isinstance(info.get("version"), int):
            raise StoreError(f"{path} is not a longembed store ({MARKER} is not ours); choose another --store")
        if info["version"] > FORMAT_VERSION:
            raise StoreError(f"the store {path} was written by a newer longembed (format {info['version']}); upgrade")
        self._lock_handle = hold(self.path, self.location)  # one process at a time

    def _create(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            write_json(self.path / MARKER, {"format": FORMAT, "version": FORMAT_VERSION})
        except OSError as exc:
            raise StoreError(f"cannot create the store {self.location}: {exc.strerror or exc}") from None

    def close(self) -> None:
        with self._lock:
            for shard in self._shards.values():
                shard.close()
            self._shards.clear()
            if self._lock_handle is not None:
                handle, self._lock_handle = self._lock_handle, None
                release(self.path, handle)

    def serialize_calls(self, lock: threading.RLock) -> None:
        """From now on every call holds ``lock`` (the server's request threads share one store)."""
        self._lock = lock

    def __enter__(self) -> EdgeStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- collections -------------------------------------------------------------------------------------
    def _folder(self, collection: str) -> Path:
        if not isinstance(collection, str) or not NAME_PATTERN.fullmatch(collection):
            raise StoreError(
                f"invalid collection name {collection[:80]!r}: use letters, digits and _ . @ + = - (not starting "
                "with a dot), at most 128 characters"
            )
        return self.path / COLLECTIONS / collection

    def _description(self, collection: str) -> dict[str, Any]:
        path = self._folder(collection) / COLLECTION_FILE
        if not path.exists():
            have = ", ".join(self.collections()) or "none"
            raise CollectionNotFound(f"collection {collection!r} does not exist in {self.location} (collections: {have})")
        return read_json(path, self.location)

    def exists(self, collection: str) -> bool:
        try:
            return (self._folder(collection) / COLLECTION_FILE).is_file()
        except StoreError:
            return False

    def collections(self) -> list[str]:
        folder = self.path / COLLECTIONS
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if NAME_PATTERN.fullmatch(p.name) and (p / COLLECTION_FILE).is_file())

    def schema(self, collection: str) -> CollectionSchema:
        return CollectionSchema.from_stored(self._description(collection)["schema"])

    def metadata(self, collection: str) -> dict[str, Any]:
        return dict(self._description(collection).get("metadata") or {})

    def update_metadata(self, collection: str, metadata: dict[str, Any]) -> None:
        with self._lock:
            description = self._description(collection)
            description["metadata"] = {**(description.get("metadata") or {}), **metadata}
            self._guarded("update", collection, lambda: write_json(self._folder(collection) / COLLECTION_FILE, description))

    def create_collection(self, collection: str, schema: CollectionSchema, metadata: dict[str, Any]) -> None:
        folder = self._folder(collection)
        with self._lock:
            if self.exists(collection):
                raise StoreError(f"collection {collection!r} already exists in {self.location}")
            if folder.exists():  # a creation killed before its collection.json was written: nothing in it counts
                shutil.rmtree(folder)

            def create() -> None:
                folder.mkdir(parents=True)
                self._shards[collection] = qe.EdgeShard.create(str(folder / SHARD), edge_config(schema))
                write_json(folder / COLLECTION_FILE, {"schema": schema.to_stored(), "metadata": metadata})

            self._guarded("create", collection, create)

    def delete_collection(self, collection: str) -> None:
        with self._lock:
            if not self.exists(collection):
                return
            shard = self._shards.pop(collection, None)
            if shard is not None:
                shard.close()
            trash = self.path / COLLECTIONS / f".deleted-{uuid.uuid4().hex}"
            os.replace(self._folder(collection), trash)  # one rename: the collection is gone or whole
            shutil.rmtree(trash, ignore_errors=True)

    def _shard(self, collection: str) -> qe.EdgeShard:
        shard = self._shards.get(collection)
        if shard is None:
            self._description(collection)  # CollectionNotFound / damaged
            path = self._folder(collection) / SHARD
            try:
                shard = qe.EdgeShard.load(str(path))
            except Exception as exc:
                raise StoreError(
                    f"cannot open collection {collection!r} in {self.location}: it is damaged ({first_line(exc)}); "
                    "it was left untouched: restore it from a backup, or drop it and ingest again"
                ) from None
            self._shards[collection] = shard
        return shard

    def _update(self, verb: str, collection: str, operation: Any) -> None:
        with self._lock:
            shard = self._shard(collection)
            self._guarded(verb, collection, lambda: shard.update(operation))

    # -- points ------------------------------------------------------------------------------------------
    def upsert_records(self, collection: str, records: Sequence[Record]) -> None:
        points = [qe.Point(r.point_id, to_edge(r.vectors), r.payload) for r in records]
        if points:
            self._update("write to", collection, qe.UpdateOperation.upsert_points(points))

    def update_vectors(self, collection: str, records: Sequence[Record]) -> None:
        vectors = [qe.PointVectors(r.point_id, to_edge(r.vectors)) for r in records]
        if vectors:
            self._update("update", collection, qe.UpdateOperation.update_vectors(vectors))

    def set_payload(self, collection: str, point: str, payload: dict[str, Any]) -> None:
        self._update("update", collection, qe.UpdateOperation.set_payload([point], payload))

    def delete(self, collection: str, points: Iterable[str]) -> None:
        ids = list(points)
        if ids:
            self._update("delete from", collection, qe.UpdateOperation.delete_points(ids))

    def retrieve(
        self, collection: str, ids: Sequence[str], payload: bool | Sequence[str] = True, vectors: Sequence[str] = ()
    ) -> list[Record]:
        if not ids:
            return []
        with self._lock:
            found = self._shard(collection).retrieve(
                [str(i) for i in ids], with_payload=payload_selector(payload), with_vector=list(vectors) or False
            )
        return [Record(str(r.id), dict(r.payload or {}), from_edge(r.vector)) for r in found]

    def scroll(
        self, collection: str, payload: bool | Sequence[str] = True, vectors: Sequence[str] = (), page: int = 256
    ) -> Iterator[Record]:
        offset = None
        while True:
            with self._lock:
                found, offset = self._shard(collection).scroll(qe.ScrollRequest(
                    offset=offset, limit=page, with_payload=payload_selector(payload),
                    with_vector=list(vectors) or False,
                ))
            for r in found:
                yield Record(str(r.id), dict(r.payload or {}), from_edge(r.vector))
            if offset is None:
                return

    def count(self, collection: str) -> int:
        with self._lock:
            return self._shard(collection).count(qe.CountRequest(exact=True))

    # -- search ------------------------------------------------------------------------------------------
    def _query_batch(
        self, collection: str, queries: Sequence[VectorQuery], payload: bool, vectors: Sequence[str]
    ) -> list[list[Hit]]:
        requests = [
            qe.QueryRequest(
                limit=q.limit, query=edge_query(q), filter=edge_filter(q), with_payload=payload,
                with_vector=list(vectors) or False,
            )
            for q in queries
        ]
        with self._lock:
            results = self._shard(collection).query_batch(qe.QueryBatchRequest(requests))
        return [[edge_hit(i, p) for i, p in enumerate(_ordered(points))] for points in results]

    def _fuse(self, collection: str, queries: Sequence[VectorQuery], fusion: Fusion, k: int) -> list[Hit]:
        prefetches = [qe.Prefetch(limit=q.limit, query=edge_query(q), filter=edge_filter(q)) for q in queries]
        method = qe.Fusion.Rrf(k=RRF_K) if fusion == "rrf" else qe.Fusion.Dbsf()
        request = qe.QueryRequest(limit=k, prefetches=prefetches, query=method, with_payload=True)
        with self._lock:
            points = self._shard(collection).query(request)
        return [edge_hit(i, p) for i, p in enumerate(_ordered(points))]


def _ordered(points: list) -> list:
    """Points best first, exact ties in point-id order: Qdrant Edge may return equal scores in any order from one run
    to the next (a bench re-run then scored tied passkey windows differently), so rankings are made reproducible."""
    return sorted(points, key=lambda p: (-p.score, str(p.id)))
