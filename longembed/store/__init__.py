"""Where documents are stored and searched; the only package that speaks to Qdrant.

- :mod:`~longembed.store.schema`: vector names, point ids, the one document payload schema (``DocumentPayload``),
  the records passed to and from a store (queries, records, hits, sparse vectors);
- :mod:`~longembed.store.protocol`: the :class:`VectorStore` protocol, the plug-in point for backends;
- :mod:`~longembed.store.collections`: what every backend derives from its primitives (recorded settings, the
  skip/replace state of points, vector counts);
- :mod:`~longembed.store.edge`: :class:`EdgeStore`, the embedded store (Qdrant Edge, in process, one shard per
  collection), the default for ``--store DIR``; its directory's files and lock are
  :mod:`~longembed.store.edge_layout`'s, its conversions to Qdrant Edge's types :mod:`~longembed.store.edge_types`'s;
- :mod:`~longembed.store.qdrant`: :class:`QdrantClientStore`, qdrant-client on a Qdrant server or cluster (``--qdrant-url``), and
  on a store directory written by qdrant-client's local mode (read-only ones, and the conversion);
- :mod:`~longembed.store.conversion`: converting a qdrant-client local-mode store directory to Qdrant Edge;
- :mod:`~longembed.store.backends`: :func:`open_store` (also named ``Store``), the one place that picks a backend for
  a path or URL;
- :mod:`~longembed.store.local`: the guard that checks a local-mode store directory before qdrant-client opens it.

The backends are imported on first use, so the schema can be imported without qdrant-client or qdrant-edge.
"""

from longembed.lazy import by_name, lazy_exports
from longembed.settings import DEFAULT_COLLECTION, DEFAULT_STORE, SETTINGS_VERSION, IndexSettings
from longembed.store.protocol import VectorStore
from longembed.store.schema import (
    CHUNKS_VECTOR,
    DOC_VECTOR,
    MAX_STORED_TEXT_CHARS,
    MULTI_VECTOR,
    POINT_NAMESPACE,
    SCROLL_PAGE,
    SPARSE_VECTOR,
    STATE_FIELDS,
    CollectionSchema,
    DocumentPayload,
    Hit,
    Record,
    SparseVector,
    StoredDocument,
    StoredState,
    VectorQuery,
    point_id,
)

__getattr__ = lazy_exports(__name__, by_name({
    "longembed.store.backends": ("BACKENDS", "Store", "open_store"),
    "longembed.store.cluster": ("ClusterLayout",),
    "longembed.store.edge": ("EdgeStore",),
    "longembed.store.qdrant": ("QdrantClientStore",),
    "longembed.store.local": ("LOCAL_STORE_FILES",),
}))

__all__ = [
    "BACKENDS", "CHUNKS_VECTOR", "DEFAULT_COLLECTION", "DEFAULT_STORE", "DOC_VECTOR", "LOCAL_STORE_FILES",
    "MAX_STORED_TEXT_CHARS", "MULTI_VECTOR", "POINT_NAMESPACE", "SCROLL_PAGE", "SETTINGS_VERSION", "SPARSE_VECTOR", "STATE_FIELDS",
    "ClusterLayout", "CollectionSchema", "DocumentPayload", "EdgeStore", "Hit", "IndexSettings", "QdrantClientStore", "Record", "SparseVector", "Store",
    "StoredDocument", "StoredState", "VectorQuery", "VectorStore", "open_store", "point_id",
]
