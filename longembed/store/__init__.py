"""Where documents are stored and searched.

- :mod:`~longembed.store.schema`: vector names, point ids, the one document payload schema (``DocumentPayload``),
  the records passed to and from a store;
- :mod:`~longembed.store.protocol`: the :class:`VectorStore` protocol, the plug-in point for backends;
- :mod:`~longembed.store.qdrant`: :class:`Store`, the Qdrant implementation (embedded local mode or a server);
- :mod:`~longembed.store.backends`: :func:`open_store`, the one place that picks a backend for a path or URL;
- :mod:`~longembed.store.local`: the guard that checks a local store directory before Qdrant opens it.
"""

from longembed.settings import DEFAULT_COLLECTION, DEFAULT_STORE, SETTINGS_VERSION, IndexSettings
from longembed.store.backends import BACKENDS, open_store
from longembed.store.local import LOCAL_STORE_FILES
from longembed.store.protocol import VectorStore
from longembed.store.qdrant import Store
from longembed.store.schema import (
    CHUNKS_VECTOR,
    DOC_VECTOR,
    POINT_NAMESPACE,
    SCROLL_PAGE,
    SPARSE_VECTOR,
    STATE_FIELDS,
    MAX_STORED_TEXT_CHARS,
    DocumentPayload,
    Hit,
    StoredDocument,
    StoredState,
    point_id,
)

__all__ = [
    "BACKENDS", "CHUNKS_VECTOR", "DEFAULT_COLLECTION", "DEFAULT_STORE", "DOC_VECTOR", "LOCAL_STORE_FILES",
    "MAX_STORED_TEXT_CHARS", "POINT_NAMESPACE", "SCROLL_PAGE", "SETTINGS_VERSION", "SPARSE_VECTOR", "STATE_FIELDS", "DocumentPayload", "Hit", "IndexSettings",
    "Store", "StoredDocument", "StoredState", "VectorStore", "open_store", "point_id",
]
