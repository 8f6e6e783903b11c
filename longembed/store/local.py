"""The local-directory guard: what a local (embedded) store folder must look like before qdrant-client opens it,
so that Qdrant never silently recreates, empties or scatters files into a folder."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from longembed.errors import StoreError, first_line

log = logging.getLogger(__name__)

LOCAL_STORE_FILES = {"meta.json", "meta.json.tmp", ".lock", "collection", ".longembed-server.json"}
"""What a local store directory may hold (``.longembed-server.json``: a running server's address, see
:mod:`longembed.serve.address`)."""


def check_local_store(path: Path, create: bool) -> dict[str, dict] | None:
    """Refuse a local store directory that Qdrant would silently recreate, empty or scatter files into; returns
    ``meta.json``'s collections (``None`` when there is no store yet).

    The one repair made: an empty ``meta.json`` with no collection data (a store whose creation was killed
    before Qdrant wrote it) is removed so that Qdrant creates the store again; there was nothing in it.

    Raises:
        StoreError: ``path`` is a file; it does not exist and ``create`` is false; it is a non-empty folder
            without ``meta.json``; its ``meta.json`` is unreadable; or a collection it lists has no data.
    """
    if path.exists() and not path.is_dir():
        raise StoreError(f"the store path {path} is a file, not a store directory; choose another --store")
    if not path.exists():
        if not create:
            raise StoreError(f"there is no store at {path}; create one with `longembed ingest PATH --store {path}`")
        return None
    meta_file = path / "meta.json"
    try:
        entries = {p.name for p in path.iterdir()}
    except OSError as exc:
        raise StoreError(f"cannot open the store {path}: {exc.strerror or exc}") from None
    if not meta_file.exists():
        if "collection" in entries:
            raise StoreError(
                f"the store {path} is damaged: meta.json is missing but collection data is present; it was left "
                "untouched: restore meta.json from a backup, or move the store away and ingest again"
            )
        foreign = sorted(entries - LOCAL_STORE_FILES)
        if foreign:
            raise StoreError(
                f"{path} is not a longembed store (no meta.json) and is not empty ({', '.join(foreign[:3])}"
                f"{', ...' if len(foreign) > 3 else ''}); choose an empty or new --store directory"
            )
        return None
    if meta_file.stat().st_size == 0 and "collection" not in entries:
        # the process that created this store was killed before it wrote meta.json: nothing was ever stored
        log.info("%s has an empty meta.json and no data: finishing its creation", path)
        meta_file.unlink()
        return None
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
        collections = meta["collections"]
        if not isinstance(collections, dict):
            raise TypeError("'collections' is not an object")
    except OSError as exc:
        raise StoreError(f"cannot read {meta_file}: {exc.strerror or exc}") from None
    except Exception as exc:
        raise StoreError(
            f"the store {path} is damaged or from an incompatible version: {meta_file.name} is unreadable "
            f"({type(exc).__name__}: {first_line(exc)}); it was left untouched: restore it from a backup, or move "
            "the store away and ingest again"
        ) from None
    for name in collections:
        folder = path / "collection" / name
        if not any((folder / f).exists() for f in ("storage.sqlite", "storage.dbm", "storage.dbm.db")):
            raise StoreError(
                f"the store {path} is damaged: the data of collection {name!r} ({folder}/storage.sqlite) is missing; "
                "it was left untouched: restore it from a backup, or move the store away and ingest again"
            )
    return collections
