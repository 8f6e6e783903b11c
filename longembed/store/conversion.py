"""Converting a store directory written by qdrant-client's local mode (longembed before Qdrant Edge) to the Qdrant
Edge layout of :mod:`longembed.store.edge_layout`, once, without re-embedding: every point is copied with its vectors
and payload, every collection with its metadata.

The old copy is kept until the new one is complete, and a killed conversion resumes or restarts cleanly:

1. the new store is built in ``DIR/.converting/`` (restarted from nothing when a conversion was killed before
   ``DIR/.converting/complete`` was written; points are checked by count);
2. the old files (``meta.json``, ``collection/``) move into ``DIR/.local-mode/``;
3. the new collections move into ``DIR``, then the new store's marker (``edge-store.json``): the commit point;
4. ``DIR/.local-mode/`` and ``DIR/.converting/`` are removed.

Opened in any state between, :func:`convert_local_store` takes the store to the end (steps 2–4 are idempotent),
and :func:`finish_conversion` removes what step 4 had left.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from longembed.errors import StoreError
from longembed.store.edge import EdgeStore
from longembed.store.edge_layout import COLLECTIONS, MARKER
from longembed.store.schema import DOC_VECTOR, MULTI_VECTOR, SPARSE_VECTOR

log = logging.getLogger(__name__)

WORK = ".converting"
OLD = ".local-mode"
COMPLETE = "complete"
LOCAL_MODE_FILES = ("meta.json", "collection")
PAGE = 256


def finish_conversion(path: Path) -> None:
    """Remove what a conversion killed after its commit point left behind (the old copy, the work folder)."""
    for leftover in (path / OLD, path / WORK):
        if leftover.exists() and (path / MARKER).exists():
            shutil.rmtree(leftover, ignore_errors=True)


def is_local_mode_store(path: Path) -> bool:
    """Whether ``path`` holds a qdrant-client local-mode store (or one whose conversion was interrupted)."""
    return not (path / MARKER).exists() and ((path / "meta.json").exists() or (path / OLD).exists())


def convert_local_store(path: Path) -> tuple[int, int]:
    """Convert the local-mode store at ``path`` to Qdrant Edge (see the module docstring); returns (collections,
    points) converted.

    Raises:
        StoreError: the old store cannot be opened (held by another process, damaged, hostile rows: see
            :class:`longembed.store.qdrant.QdrantClientStore`), or a copy lost points (the old store is kept as it was).
    """
    if not (path / OLD).exists():
        _build(path)
    return _swap(path)


def _build(path: Path) -> None:
    from longembed.store.qdrant import QdrantClientStore  # qdrant-client: only for a store of the old layout

    work = path / WORK
    if (work / COMPLETE).exists():
        return
    if work.exists():
        shutil.rmtree(work)  # a conversion killed before it was complete: start again
    old = QdrantClientStore(path=path, create=False)
    try:
        new = EdgeStore(work, create=True)
        try:
            for name in old.collections():
                schema = old.schema(name)
                new.create_collection(name, schema, old.metadata(name))
                vectors = [DOC_VECTOR, *([MULTI_VECTOR] if schema.multivector else []),
                           *([SPARSE_VECTOR] if schema.sparse else [])]
                batch = []
                for record in old.scroll(name, payload=True, vectors=vectors, page=PAGE):
                    batch.append(record)
                    if len(batch) == PAGE:
                        new.upsert_records(name, batch)
                        batch = []
                new.upsert_records(name, batch)
                if new.count(name) != old.count(name):
                    raise StoreError(
                        f"converting collection {name!r} of {path} lost points ({new.count(name)} of "
                        f"{old.count(name)}); the old store was kept as it was"
                    )
        finally:
            new.close()
    finally:
        old.close()
    (work / COMPLETE).write_text("")


def _swap(path: Path) -> tuple[int, int]:
    work, old = path / WORK, path / OLD
    old.mkdir(exist_ok=True)
    for name in LOCAL_MODE_FILES:
        if (path / name).exists():
            os.replace(path / name, old / name)
    if (work / COLLECTIONS).exists():
        if (path / COLLECTIONS).exists():
            shutil.rmtree(path / COLLECTIONS)  # a move killed half-way: the complete copy is still in work
        os.replace(work / COLLECTIONS, path / COLLECTIONS)
    os.replace(work / MARKER, path / MARKER)  # the commit point
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    with EdgeStore(path, create=False) as store:
        names = store.collections()
        return len(names), sum(store.count(n) for n in names)
