"""Checking a local Qdrant store before qdrant-client opens it: its rows are pickles, so opening runs code.

qdrant-client's local mode keeps each point as ``pickle.dumps(PointStruct)`` in
``collection/<name>/storage.sqlite`` (table ``points``, column ``point``; see
``qdrant_client/local/persistence.py``) and unpickles every row when it opens the store. A row crafted with a
``__reduce__`` runs any command at that moment. :func:`check_local_rows` unpickles every row first with
:class:`RestrictedUnpickler`, which resolves only the classes qdrant-client writes (found by pickling real
points: a ``PointStruct`` whose vectors are lists or ``SparseVector``); any other global refuses the store
before qdrant-client sees it. The same pass checks that each point's vectors have the sizes the collection
records, so a store whose ``meta.json`` no longer matches its data is reported as damaged.

The sqlite file is opened read-only (``mode=ro``, ``immutable=1`` when the folder is not writable), so the
check never changes the store.
"""

from __future__ import annotations

import io
import os
import pickle
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from longembed.errors import StoreError

QDRANT_MODELS = "qdrant_client.http.models.models"
ALLOWED_GLOBALS = frozenset({(QDRANT_MODELS, "PointStruct"), (QDRANT_MODELS, "SparseVector")})
"""The (module, name) pairs a row may reference: what qdrant-client's ``persist`` pickles."""
TRUST_NOTE = "a local store is code, like a pickle file: open only stores from trusted sources"


class ForeignObject(pickle.UnpicklingError):
    """A pickle referenced a global outside :data:`ALLOWED_GLOBALS`."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only :data:`ALLOWED_GLOBALS` (everything else raises :class:`ForeignObject`)."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise ForeignObject(f"{module}.{name}")


def restricted_loads(data: bytes) -> Any:
    """``pickle.loads`` that builds only qdrant-client's point classes.

    Raises:
        ForeignObject: the pickle names another class or function.
        pickle.UnpicklingError, EOFError, ValueError: the bytes are not a valid pickle.
    """
    return RestrictedUnpickler(io.BytesIO(data)).load()


def _rows(storage: Path) -> Iterator[bytes]:
    writable = os.access(storage.parent, os.W_OK) and os.access(storage, os.W_OK)
    uri = f"file:{storage.as_posix()}?mode=ro" + ("" if writable else "&immutable=1")
    connection = sqlite3.connect(uri, uri=True)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "points" not in tables:
            return
        for (value,) in connection.execute("SELECT point FROM points"):
            yield bytes(value)
    finally:
        connection.close()


def _vector_sizes(config: dict) -> dict[str, int]:
    """Named dense vector -> size from a collection's ``meta.json`` entry (``vectors`` of CreateCollection)."""
    vectors = (config or {}).get("vectors") or {}
    if isinstance(vectors, dict) and "size" in vectors and not isinstance(vectors.get("size"), dict):
        return {"": int(vectors["size"])}
    return {name: int(p["size"]) for name, p in vectors.items() if isinstance(p, dict) and "size" in p}


def _check_sizes(store: Path, name: str, config: dict) -> dict[str, int]:
    sizes = _vector_sizes(config)
    recorded = ((config or {}).get("metadata") or {}).get("dimension")
    doc = sizes.get("doc")
    if isinstance(recorded, int) and doc is not None and doc != recorded:
        raise StoreError(
            f"the store {store} is damaged: collection {name!r} records {recorded}-dimensional vectors but its "
            f"'doc' vector is configured with size {doc} (meta.json edited or corrupted); it was left untouched: "
            "restore it from a backup, or move the store away and ingest again"
        )
    return sizes


def _point_sizes(point: Any) -> dict[str, int]:
    vector = getattr(point, "vector", None)
    if isinstance(vector, list):
        return {"": len(vector)}
    out = {}
    for key, value in (vector or {}).items():
        if isinstance(value, list) and value and isinstance(value[0], list):
            out[key] = len(value[0])  # a multivector: each of its vectors
        elif isinstance(value, list):
            out[key] = len(value)
    return out


def check_local_rows(store: Path, collections: dict[str, dict], keep: dict[str, list] | None = None) -> None:
    """Unpickle every stored point of every collection with :class:`RestrictedUnpickler` and check its sizes.

    Args:
        store: the local store directory.
        collections: ``meta.json``'s ``collections`` (name -> CreateCollection config).
        keep: when given, collection name -> the checked points (for :func:`read_only_client`).

    Raises:
        StoreError: a row references a class or function qdrant-client does not write (the store is not
            opened), a row is not a readable pickle, or a vector size differs from the collection's.
    """
    for name, config in collections.items():
        sizes = _check_sizes(store, name, config)
        storage = store / "collection" / name / "storage.sqlite"
        kept = keep.setdefault(name, []) if keep is not None else None
        if not storage.exists():
            continue
        try:
            for row in _rows(storage):
                try:
                    point = restricted_loads(row)
                except ForeignObject as exc:
                    raise StoreError(
                        f"the store {store} contains objects qdrant-client does not write (collection {name!r}: "
                        f"{str(exc)[:120]}); it was not opened ({TRUST_NOTE})"
                    ) from None
                except Exception as exc:
                    raise StoreError(
                        f"the store {store} is damaged: a row of collection {name!r} is not a readable point "
                        f"({type(exc).__name__}); it was left untouched: restore it from a backup, or move the "
                        "store away and ingest again"
                    ) from None
                if kept is not None:
                    kept.append(point)
                for vector, size in _point_sizes(point).items():
                    if vector in sizes and size != sizes[vector]:
                        raise StoreError(
                            f"the store {store} is damaged: a point of collection {name!r} has a {size}-dimensional "
                            f"{vector or 'default'!r} vector, the collection records {sizes[vector]}; it was left "
                            "untouched: restore it from a backup, or move the store away and ingest again"
                        )
        except sqlite3.Error as exc:
            raise StoreError(
                f"cannot open the store {store}: it is damaged or was written by an incompatible qdrant-client "
                f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); it was left untouched: "
                "restore it from a backup, or move it away and ingest again"
            ) from None


def is_writable(store: Path) -> bool:
    """Whether qdrant-client could open ``store`` for writing (its folder, lock file and collection data)."""
    paths = [store, store / ".lock", store / "meta.json"]
    collections = store / "collection"
    if collections.is_dir():
        for folder in collections.iterdir():
            paths += [folder, folder / "storage.sqlite"]
    return all(os.access(p, os.W_OK) for p in paths if p.exists())


def read_only_client(store: Path, collections: dict[str, dict]):
    """An in-memory Qdrant client holding a copy of the read-only local ``store`` (queries only: nothing written
    to it reaches the disk). Every row is checked as by :func:`check_local_rows` first.

    Raises:
        StoreError: as :func:`check_local_rows`.
    """
    from qdrant_client import QdrantClient
    from qdrant_client.http import models

    points: dict[str, list] = {}
    check_local_rows(store, collections, keep=points)
    client = QdrantClient(location=":memory:")
    for name, config_json in collections.items():
        config = models.CreateCollection(**{k: v for k, v in config_json.items() if k != "init_from"})
        client.create_collection(
            name,
            vectors_config=config.vectors,
            sparse_vectors_config=config.sparse_vectors,
            metadata=config.metadata,
        )
        rows = points.get(name, [])
        for start in range(0, len(rows), 256):
            client.upsert(name, points=rows[start : start + 256], wait=True)
    return client
