"""Opening a store by where it lives: the one place that picks a :class:`~longembed.store.protocol.VectorStore`
implementation: Qdrant Edge in process for a store directory (:class:`~longembed.store.edge.EdgeStore`), qdrant-client
for an ``http(s)://`` URL (a Qdrant server or cluster).

A store directory written by qdrant-client's local mode (longembed before Qdrant Edge) is converted once, without
re-embedding (:mod:`longembed.store.conversion`), with one line saying so; a read-only one is queried through
qdrant-client as it is. A read-only Qdrant Edge store is queried from a temporary copy.

A new backend implements :class:`~longembed.store.protocol.VectorStore` in its own module and adds its URL scheme
to :data:`BACKENDS`; every command, the server, the retriever and the bench then open it by ``--qdrant-url``'s
value.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from longembed.errors import StoreError
from longembed.settings import DEFAULT_STORE
from longembed.store.cluster import ClusterLayout
from longembed.store.protocol import VectorStore

log = logging.getLogger(__name__)


def _server(url: str, create: bool, layout: ClusterLayout | None = None) -> VectorStore:
    from longembed.store.qdrant import QdrantClientStore

    return QdrantClientStore(url=url, create=create, layout=layout)


BACKENDS: dict[str, Callable[..., VectorStore]] = {"http": _server, "https": _server}
"""URL scheme -> a function ``(url, create, layout)`` that opens the store there."""


def open_store(
    path: str | Path = DEFAULT_STORE, url: str | None = None, create: bool = True, layout: ClusterLayout | None = None
) -> VectorStore:
    """The store at ``url`` (a server) or, without one, the store directory ``path``.

    Args:
        create: create a missing store directory (``False``: a missing one is an error, for queries).
        layout: how the server lays out the collections it creates (shards, replicas, on disk); servers only.

    Raises:
        StoreError: an unknown URL scheme (lists the known ones), the store cannot be opened, or a ``layout``
            other than the default for a store directory.
    """
    if url is not None:
        scheme = urlsplit(url).scheme.lower()
        if scheme not in BACKENDS:
            raise StoreError(f"cannot open {url!r}: unknown scheme {scheme!r}; valid: {', '.join(sorted(BACKENDS))}")
        return BACKENDS[scheme](url, create, layout)
    if layout is not None and not layout.is_default:
        raise StoreError(
            "--shards, --replication-factor and --on-disk lay out a new collection on a Qdrant server: give "
            "--qdrant-url (the embedded store keeps one shard in this process)"
        )
    return open_directory(Path(path), create)


def Store(path: str | Path = DEFAULT_STORE, url: str | None = None, create: bool = True) -> VectorStore:  # noqa: N802
    """:func:`open_store` under the name longembed's Python API has always had (``with Store(path=...) as store``):
    the store directory ``path`` (Qdrant Edge) or the Qdrant server at ``url``."""
    return open_store(path, url, create)


def open_directory(path: Path, create: bool = True) -> VectorStore:
    """The store directory ``path``: Qdrant Edge, after converting a local-mode store (see the module docstring).

    Raises:
        StoreError: the path is a file, missing (``create=False``), not a store, damaged or held by another process.
    """
    from longembed.store.conversion import convert_local_store, finish_conversion, is_local_mode_store
    from longembed.store.edge import EdgeStore
    from longembed.store.edge_layout import is_edge_store

    if path.exists() and not path.is_dir():
        raise StoreError(f"the store path {path} is a file, not a store directory; choose another --store")
    if is_local_mode_store(path):
        if not _writable(path):
            from longembed.store.qdrant import QdrantClientStore

            return QdrantClientStore(path=path, create=False)  # read-only: queried as it is, in memory
        n_collections, n_points = convert_local_store(path)
        print(f"converted the store {path} to Qdrant Edge ({n_collections} collection(s), {n_points} points; "
              "nothing re-embedded)", file=sys.stderr)
    elif not is_edge_store(path) and path.is_dir():
        _check_foreign(path)
    if is_edge_store(path):
        if not _writable(path):
            return _read_only_copy(path)
        finish_conversion(path)
    return EdgeStore(path, create=create)


def _writable(path: Path) -> bool:
    """Whether this process can write the store directory and its files (``os.access``: root always can)."""
    return all(os.access(p, os.W_OK) for p in [path, *path.rglob("*")] if not p.is_symlink())


def _check_foreign(path: Path) -> None:
    from longembed.store.local import LOCAL_STORE_FILES

    try:
        foreign = sorted({p.name for p in path.iterdir()} - LOCAL_STORE_FILES)
    except OSError as exc:
        raise StoreError(f"cannot open the store {path}: {exc.strerror or exc}") from None
    if "collection" in foreign or "collections" in foreign:
        raise StoreError(
            f"the store {path} is damaged: its marker file is missing but collection data is present; it was left "
            "untouched: restore it from a backup, or move the store away and ingest again"
        )
    if foreign:
        raise StoreError(
            f"{path} is not a longembed store and is not empty ({', '.join(foreign[:3])}"
            f"{', ...' if len(foreign) > 3 else ''}); choose an empty or new --store directory"
        )


def _read_only_copy(path: Path) -> VectorStore:
    """A Qdrant Edge store opened from a temporary copy of the read-only ``path`` (removed on close): Qdrant Edge
    writes its log when it opens a shard, and nothing may be written to a read-only store."""
    from longembed.store.edge import EdgeStore
    from longembed.store.edge_layout import LOCK_FILE

    tmp = Path(tempfile.mkdtemp(prefix="longembed-read-only-"))
    copy = tmp / "store"
    shutil.copytree(path, copy, ignore=shutil.ignore_patterns(LOCK_FILE), symlinks=True)
    for p in [copy, *copy.rglob("*")]:
        p.chmod(p.stat().st_mode | 0o200)
    log.info("the store %s is read-only: queried from a copy in %s", path, copy)
    store = EdgeStore(copy, create=False)
    store.location = str(path)
    close = store.close

    def close_and_remove() -> None:
        close()
        shutil.rmtree(tmp, ignore_errors=True)

    store.close = close_and_remove  # type: ignore[method-assign]
    return store
