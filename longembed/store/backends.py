"""Opening a store by where it lives: the one place that picks a :class:`~longembed.store.protocol.VectorStore`
implementation (today Qdrant, embedded local mode for a directory, a server for an ``http(s)://`` URL).

A new backend implements :class:`~longembed.store.protocol.VectorStore` in its own module and adds its URL scheme
to :data:`BACKENDS`; every command, the server, the retriever and the bench then open it by ``--qdrant-url``'s
value.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from longembed.errors import StoreError
from longembed.settings import DEFAULT_STORE
from longembed.store.protocol import VectorStore
from longembed.store.qdrant import Store

BACKENDS: dict[str, Callable[..., VectorStore]] = {"http": Store, "https": Store}
"""URL scheme -> the store class that serves it, called as ``cls(url=url, create=create)``."""


def open_store(path: str | Path = DEFAULT_STORE, url: str | None = None, create: bool = True) -> VectorStore:
    """The store at ``url`` (a server) or, without one, the local store directory ``path``.

    Args:
        create: create a missing local directory (``False``: a missing one is an error, for queries).

    Raises:
        StoreError: an unknown URL scheme (lists the known ones), or the store cannot be opened.
    """
    if url is None:
        return Store(path=path, create=create)
    scheme = urlsplit(url).scheme.lower()
    if scheme not in BACKENDS:
        raise StoreError(f"cannot open {url!r}: unknown scheme {scheme!r}; valid: {', '.join(sorted(BACKENDS))}")
    return BACKENDS[scheme](url=url, create=create)
