"""The files of an Edge store directory (:class:`longembed.store.edge.EdgeStore`): their names, the format marker,
atomic JSON writes and reads that report damage, and the lock that lets one process at a time open the store.

Layout of a store directory::

    DIR/edge-store.json                    the store's marker and format version
    DIR/.lock                              held (flock) by the one process that has the store open
    DIR/collections/NAME/collection.json   the collection's schema and metadata (settings, dimension, sparse)
    DIR/collections/NAME/shard/            the collection's Qdrant Edge shard (segments + write-ahead log)

A collection exists once its ``collection.json`` is written (last, atomically); a folder without one is a creation
that was killed and is removed when the name is created again. Nothing in a store is unpickled or executed: the
metadata is JSON and the shard is read by Qdrant's own engine.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import uuid
from pathlib import Path
from typing import IO, Any

from longembed.errors import StoreError, first_line


MARKER = "edge-store.json"
FORMAT = "longembed-qdrant-edge"
FORMAT_VERSION = 1
COLLECTIONS = "collections"
COLLECTION_FILE = "collection.json"
SHARD = "shard"
LOCK_FILE = ".lock"
NAME_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+=-]{0,127}")
"""Collection names a store directory accepts: letters, digits and ``_ . @ + = -``, not starting with a dot, at most
128 characters (a folder name on every file system; no path separator can reach outside the store)."""


_HELD: set[Path] = set()
"""Store directories this process holds open (to tell "held by this process" from "held by another")."""


def is_edge_store(path: Path) -> bool:
    return (path / MARKER).is_file()


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file, fsync, rename): a crash leaves the old or the new."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError("not a JSON object")
        return data
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
    except Exception as exc:
        raise StoreError(
            f"the store {what} is damaged: {path.name} is unreadable ({type(exc).__name__}: {first_line(exc)}); it "
            "was left untouched: restore it from a backup, or move the store away and ingest again"
        ) from None


def hold(path: Path, location: str) -> IO[str]:
    """Take the lock of the store at ``path`` (one process at a time, as Qdrant Edge's write-ahead log allows); the
    open lock file, to :func:`release` when the store closes. ``location`` names the store in messages.

    Raises:
        StoreError: the lock file cannot be opened, or the store is held (by this process or another).
    """
    try:
        handle = open(path / LOCK_FILE, "a+")
    except OSError as exc:
        raise StoreError(f"cannot open the store {location}: {exc.strerror or exc}") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        if path.resolve() in _HELD:
            raise StoreError(
                f"the store {location} is already open in this process (one opening at a time); pass the "
                "open store (e.g. `Retriever(store=store)`, `LongEmbedRetriever(store=store)`) instead of its path"
            ) from None
        raise StoreError(
            f"the store {location} is in use by another longembed process (one at a time); stop that "
            "process (e.g. `longembed serve`; a running server takes documents with POST /ingest) or use a "
            "Qdrant server with --qdrant-url"
        ) from None
    _HELD.add(path.resolve())
    return handle


def release(path: Path, handle: IO[str]) -> None:
    """Let the lock taken by :func:`hold` go."""
    handle.close()
    _HELD.discard(path.resolve())
