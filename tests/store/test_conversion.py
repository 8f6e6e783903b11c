"""Stores written by qdrant-client's local mode (longembed before Qdrant Edge) are converted to Qdrant Edge once,
without re-embedding: every point keeps its id, payload and vectors; one line says so; the old copy is kept until
the new one is complete, and a conversion killed at any moment (real SIGKILL) resumes or restarts cleanly.

Real stores: the fixture written by main at 494d1d9 (tests/store/test_layout_compat.py) and stores written here
through qdrant-client's local mode (:class:`~longembed.store.qdrant.QdrantClientStore`) with random vectors."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from clitools import run_cli
from conftest import REPO

from longembed.settings import IndexSettings
from longembed.store import DOC_VECTOR, MULTI_VECTOR, SPARSE_VECTOR, CollectionSchema, Record, SparseVector, Store, StoredDocument
from longembed.store.conversion import OLD, WORK, _build
from longembed.store.qdrant import QdrantClientStore

FIXTURE = REPO / "tests" / "fixtures" / "passages_store"


def snapshot(store, collection: str = "default") -> dict[str, tuple[dict, dict]]:
    """point id -> (payload, vectors as plain lists) of every point."""
    names = [DOC_VECTOR, *([MULTI_VECTOR] if store.has_multivector(collection) else []),
             *([SPARSE_VECTOR] if store.has_sparse(collection) else [])]
    out = {}
    for r in store.scroll(collection, vectors=names):
        vectors = {k: (v.indices, v.values) if isinstance(v, SparseVector) else v for k, v in r.vectors.items()}
        out[r.point_id] = (r.payload, vectors)
    return out


def assert_same_points(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for pid, (payload, vectors) in a.items():
        assert b[pid][0] == payload
        assert b[pid][1].keys() == vectors.keys()
        for name, v in vectors.items():
            if name == SPARSE_VECTOR:
                assert b[pid][1][name][0] == v[0]
                np.testing.assert_allclose(b[pid][1][name][1], v[1], rtol=1e-6)
            else:
                np.testing.assert_allclose(b[pid][1][name], v, atol=1e-7)


@pytest.fixture()
def old(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE / "store", tmp_path / "store")
    return tmp_path / "store"


def test_a_store_of_the_old_layout_is_converted_once_with_every_point_as_it_was(old, tmp_path):
    with QdrantClientStore(path=old, create=False) as legacy:
        before = snapshot(legacy)
        settings, metadata = legacy.settings("default"), legacy.metadata("default")
    first = run_cli("query", "When does the town library close?", "-k", "1", "--json", "--store", "store",
                    cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines() == [
        "converted the store store to Qdrant Edge (1 collection(s), 3 points; nothing re-embedded)"
    ]
    assert json.loads(first.stdout)[0]["path"] == "library.txt"
    assert sorted(p.name for p in old.iterdir()) == [".lock", "collections", "edge-store.json"]
    again = run_cli("query", "When does the town library close?", "-k", "1", "--json", "--store", "store",
                    cwd=tmp_path)
    assert again.returncode == 0 and again.stderr == "" and again.stdout == first.stdout
    with Store(old, create=False) as store:
        assert store.settings("default") == settings and store.metadata("default") == metadata
        assert_same_points(before, snapshot(store))


def test_a_conversion_killed_before_it_was_complete_restarts(old):
    with QdrantClientStore(path=old, create=False) as legacy:
        before = snapshot(legacy)
    (old / WORK / "collections" / "default").mkdir(parents=True)  # a half-built copy, no 'complete' mark
    (old / WORK / "collections" / "default" / "collection.json").write_text("{")
    with Store(old) as store:
        assert_same_points(before, snapshot(store))
    assert not (old / WORK).exists() and not (old / OLD).exists()


def test_a_conversion_killed_while_moving_files_resumes(old):
    with QdrantClientStore(path=old, create=False) as legacy:
        before = snapshot(legacy)
    _build(old)  # the new store complete in .converting
    (old / OLD).mkdir()
    (old / "meta.json").rename(old / OLD / "meta.json")  # killed after moving the first old file
    with Store(old) as store:
        assert_same_points(before, snapshot(store))
    assert sorted(p.name for p in old.iterdir()) == [".lock", "collections", "edge-store.json"]


def unit(rng: np.random.Generator, *shape: int) -> list:
    """Random unit vectors (ingest stores L2-normalised vectors; Qdrant Edge normalises cosine vectors on write,
    local mode when it scores)."""
    v = rng.normal(size=shape)
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).tolist()


def legacy_store(path: Path, n: int, seed: int = 0) -> None:
    """``n`` points of random 32-d unit vectors (with 3 passage vectors each) in local mode, and a collection of one
    point with a sparse vector."""
    rng = np.random.default_rng(seed)
    with QdrantClientStore(path=path) as store:
        store.ensure_collection("default", IndexSettings(), 32, with_multivector=True, sparse=None)
        store.create_collection("plain", CollectionSchema(dimension=32, sparse=True), {"note": "not longembed"})
        for start in range(0, n, 200):
            store.upsert("default", [
                StoredDocument(f"d{i}.txt", unit(rng, 32), {"path": f"d{i}.txt", "i": i}, multivector=unit(rng, 3, 32))
                for i in range(start, min(n, start + 200))
            ])
        store.upsert_records("plain", [Record("8b0b8d43-0e3b-4a52-9c43-4ec3d1e1e3a1", {"x": 1}, {
            DOC_VECTOR: unit(rng, 32), SPARSE_VECTOR: SparseVector([3, 7], [0.5, 1.5])})])


@pytest.mark.slow  # builds a local-mode store of 10,000 points and kills its conversion several times
def test_a_conversion_killed_at_any_moment_then_opened_again_has_every_point_once(tmp_path):
    path = tmp_path / "store"
    legacy_store(path, 10_000)
    with QdrantClientStore(path=path, create=False) as legacy:
        before = {c: snapshot(legacy, c) for c in ("default", "plain")}
    code = f"from longembed.store import open_store; open_store({str(path)!r}).close()"
    kills = 0
    for attempt in range(12):  # killed later each time: starting, copying, checking, swapping, then left to finish
        if not (path / "meta.json").exists() and not (path / OLD).exists():
            break  # converted before a kill landed
        proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
        time.sleep(0.3 + 0.5 * attempt)
        proc.send_signal(signal.SIGKILL)
        kills += proc.wait() == -signal.SIGKILL
    print(f"conversion killed {kills} times")
    assert kills >= 2
    with Store(path) as store:
        assert store.collections() == ["default", "plain"]
        for c in ("default", "plain"):
            assert_same_points(before[c], snapshot(store, c))
    assert sorted(p.name for p in path.iterdir()) == [".lock", "collections", "edge-store.json"]
