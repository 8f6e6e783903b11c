"""What every backend derives from its primitives: the recorded settings of a collection and their checks,
collection creation for an ingest, documents as points, the skip/replace state of stored points, vector counts and
single-list search, the answer to no query. A backend subclasses :class:`DerivedOperations` and implements the
primitives of :class:`~longembed.store.protocol.VectorStore` (``exists``, ``schema``, ``create_collection``,
``metadata``, ``upsert_records``, ``scroll`` ...), and ``_query_batch`` and ``_fuse`` for one query or more."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from longembed.errors import CollectionNotFound, StoreError, first_line
from longembed.settings import SETTINGS_VERSION, IndexSettings
from longembed.store.schema import (
    DOC_VECTOR,
    MULTI_VECTOR,
    Fusion,
    SCROLL_PAGE,
    SPARSE_VECTOR,
    STATE_FIELDS,
    CollectionSchema,
    Hit,
    Record,
    StoredDocument,
    StoredState,
    VectorQuery,
    point_id,
)


class DerivedOperations:
    """The :class:`~longembed.store.protocol.VectorStore` methods written once over a backend's primitives."""

    location: str

    def _guarded(self, verb: str, collection: str, action: Callable[[], Any]) -> Any:
        """``action()``; a backend's failure becomes one StoreError line saying that what was stored is kept.

        Raises:
            StoreError: ``action`` failed (e.g. "cannot write to collection 'c' in DIR: ...").
        """
        try:
            return action()
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(
                f"cannot {verb} collection {collection!r} in {self.location}: {first_line(exc)}; "
                "everything stored before is kept, run the same command again to resume"
            ) from None

    # -- recorded settings -------------------------------------------------------------------------------
    def settings(self, collection: str) -> IndexSettings:
        """The settings recorded in ``collection``.

        Raises:
            CollectionNotFound: no such collection (the message lists those that exist).
            StoreError: the collection was not made by longembed, or by a newer longembed.
        """
        if not self.exists(collection):
            have = ", ".join(self.collections()) or "none"
            raise CollectionNotFound(
                f"collection {collection!r} does not exist in {self.location} (collections: {have}); "
                "create it with `longembed ingest`"
            )
        metadata = self.metadata(collection)
        if not isinstance(metadata.get("settings"), dict):
            raise StoreError(f"collection {collection!r} in {self.location} was not created by longembed")
        version = metadata["settings"].get("settings_version", SETTINGS_VERSION)
        if not isinstance(version, int) or version > SETTINGS_VERSION:
            raise StoreError(
                f"collection {collection!r} in {self.location} was written by a newer longembed (settings version "
                f"{version}, this one reads {SETTINGS_VERSION}); upgrade longembed to use it"
            )
        return IndexSettings.from_dict(metadata["settings"])

    def collection_info(self, collection: str) -> dict[str, Any]:
        """What ``longembed collections info`` and ``GET /collections`` show of ``collection``: ``name``,
        ``documents`` (points), the recorded settings dict, and the passage fields always (``passage_size`` and
        ``passage_sentences`` are ``None`` for a collection without passages, which records neither).

        Raises:
            CollectionNotFound: no such collection. StoreError: a collection longembed did not make.
        """
        settings = self.settings(collection)
        return {"name": collection, "documents": self.count(collection), **settings.to_dict(),
                **settings.passage_fields()}

    def collection_infos(self) -> list[dict[str, Any]]:
        """:meth:`collection_info` of every collection longembed made, in :meth:`collections` order (the others,
        and any dropped meanwhile, are left out)."""
        infos = []
        for name in self.collections():
            try:
                infos.append(self.collection_info(name))
            except StoreError:  # CollectionNotFound (dropped meanwhile) included
                continue
        return infos

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
        self, collection: str, settings: IndexSettings, dimension: int, with_multivector: bool = False,
        sparse: Any = None,
    ) -> None:
        """Create ``collection`` for ``settings``, or check that an existing one was built with the same settings.

        With ``with_multivector`` the collection also holds a ``chunks`` multivector (:data:`MULTI_VECTOR`) per
        document (cosine, MAX_SIM).
        With ``sparse`` (a :class:`~longembed.sparse.analyzer.SparseSettings`) a new collection also holds the
        ``bm25`` sparse vector (IDF modifier) and records the analyzer in its metadata (``sparse``); an existing one
        is left as it is.

        Raises:
            StoreError: the collection exists with other settings (the message names the differences), or
                ``with_multivector`` is asked of an existing collection without it.
        """
        if self.exists(collection):
            self.check_settings(collection, settings)
            if with_multivector and not self.has_multivector(collection):
                raise StoreError(f"collection {collection!r} has no {MULTI_VECTOR!r} multivector")
            return
        metadata: dict[str, Any] = {"settings": settings.to_dict(), "dimension": dimension, "created_by": "longembed"}
        if sparse is not None:
            metadata["sparse"] = {SPARSE_VECTOR: sparse.to_dict(), "stats": {}}
        schema = CollectionSchema(dimension=dimension, multivector=with_multivector, sparse=sparse is not None)
        self.create_collection(collection, schema, metadata)

    def has_multivector(self, collection: str) -> bool:
        """Whether ``collection`` holds a ``chunks`` multivector next to ``doc``."""
        return self.schema(collection).multivector

    def has_sparse(self, collection: str) -> bool:
        """Whether ``collection`` holds the ``bm25`` sparse vector."""
        return self.schema(collection).sparse

    # -- points ------------------------------------------------------------------------------------------
    def upsert(self, collection: str, documents: list[StoredDocument]) -> None:
        """Write documents in one batch; a document whose path is already stored replaces its point (whole: a
        crash leaves every point either old or new).

        Raises:
            StoreError: the write failed (disk full, server gone); points written before are kept.
        """
        records = []
        for d in documents:
            vectors: dict[str, Any] = {DOC_VECTOR: d.vector}
            if d.multivector is not None:
                vectors[MULTI_VECTOR] = d.multivector
            if d.sparse is not None:
                vectors[SPARSE_VECTOR] = d.sparse
            records.append(Record(point_id=point_id(d.path), payload=d.payload, vectors=vectors))
        if records:
            self.upsert_records(collection, records)

    def stored_documents(self, collection: str) -> dict[str, StoredState]:
        """Point id -> :class:`StoredState` of every point in ``collection`` (payload fields only, no vectors).

        Points written before a field existed have it empty (``""``).
        """
        out: dict[str, StoredState] = {}
        for record in self.scroll(collection, payload=STATE_FIELDS, page=SCROLL_PAGE):
            payload = record.payload
            out[record.point_id] = StoredState(
                point_id=record.point_id,
                path=str(payload.get("path", "")),
                sha256=str(payload.get("sha256", "")),
                settings_fingerprint=str(payload.get("settings_fingerprint", "")),
                source=str(payload.get("source", "")),
                file_size=int(payload.get("file_size", -1)),
                file_mtime_ns=int(payload.get("file_mtime_ns", -1)),
            )
        return out

    def vector_counts(self, collection: str) -> dict[str, int]:
        """How many vectors each named vector of ``collection`` holds (``doc``: one per point; ``chunks``: all
        passages). Reads every point's vectors, so it costs a pass over the collection."""
        names = [DOC_VECTOR, *([MULTI_VECTOR] if self.has_multivector(collection) else [])]
        counts = dict.fromkeys(names, 0)
        for record in self.scroll(collection, payload=False, vectors=names):
            counts[DOC_VECTOR] += DOC_VECTOR in record.vectors
            if MULTI_VECTOR in counts:
                counts[MULTI_VECTOR] += len(record.vectors.get(MULTI_VECTOR) or [])
        return counts

    # -- search ------------------------------------------------------------------------------------------
    def search(self, collection: str, vector: list[float], k: int, using: str = DOC_VECTOR) -> list[Hit]:
        """The ``k`` nearest documents to ``vector`` (shape (d,)) by cosine similarity, best first, with payloads.

        With ``using="chunks"`` (:data:`MULTI_VECTOR`) a document scores as its best row: max over its rows of
        cosine(vector, row) (MAX_SIM with a one-vector query).

        Raises:
            StoreError: ``using`` names a vector the collection does not have.
        """
        if using == MULTI_VECTOR:
            if not self.has_multivector(collection):
                raise StoreError(f"collection {collection!r} has no {MULTI_VECTOR!r} multivector")
        elif using != DOC_VECTOR:
            raise StoreError(f"unknown vector {using!r}; valid: {DOC_VECTOR}, {MULTI_VECTOR}")
        return self.query_batch(collection, [VectorQuery(using, list(vector), k)], payload=True)[0]

    def query_batch(
        self, collection: str, queries: Sequence[VectorQuery], payload: bool = False, vectors: Sequence[str] = ()
    ) -> list[list[Hit]]:
        """One ranked list per query (see :meth:`~longembed.store.protocol.VectorStore.query_batch`); no query, no
        call: the backend's ``_query_batch`` runs the queries."""
        return self._query_batch(collection, queries, payload, vectors) if queries else []

    def fuse(self, collection: str, queries: Sequence[VectorQuery], fusion: Fusion, k: int) -> list[Hit]:
        """The ``k`` best points of the fused lists (see :meth:`~longembed.store.protocol.VectorStore.fuse`);
        ``[]`` for no query, else the backend's ``_fuse``."""
        return self._fuse(collection, queries, fusion, k) if queries else []
