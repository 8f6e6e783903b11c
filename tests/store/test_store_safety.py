"""Store safety in-process, on real stores (Qdrant Edge; qdrant-client's local mode for stores of the old layout):
failed writes, interrupted store and collection creation, damaged stores refused and left untouched."""

from __future__ import annotations

import pytest

from longembed.errors import StoreError
from longembed.settings import IndexSettings
from longembed.store import CollectionSchema, Store, StoredDocument


def test_a_failed_write_is_a_store_error_and_keeps_what_was_written(tmp_path):
    store = Store(path=tmp_path / "store")
    store.ensure_collection("c", IndexSettings(), 2)
    store.upsert("c", [StoredDocument("a.txt", [1.0, 0.0], {"path": "a.txt"})])
    store._shards["c"].close()  # the engine goes away mid-run
    with pytest.raises(StoreError, match="cannot write to collection 'c'.*everything stored before is kept"):
        store.upsert("c", [StoredDocument("b.txt", [0.0, 1.0], {"path": "b.txt"})])
    store.close()
    with Store(path=tmp_path / "store") as again:
        assert [p.payload["path"] for p in again.scroll("c")] == ["a.txt"]


def test_store_and_collection_whose_creation_was_killed_open(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / ".lock").write_text("")  # killed before the store's marker was written
    with Store(path=store) as db:
        assert db.collections() == []
    (store / "collections" / "c" / "shard").mkdir(parents=True)  # killed before collection.json was written
    with Store(path=store) as db:
        assert db.collections() == [] and not db.exists("c")
        db.ensure_collection("c", IndexSettings(), 2)
        db.upsert("c", [StoredDocument("a.txt", [1.0, 0.0], {"path": "a.txt"})])
    with Store(path=store) as db:
        assert db.collections() == ["c"] and db.count("c") == 1


def test_a_damaged_collection_file_is_refused_and_left_untouched(tmp_path):
    store = tmp_path / "store"
    with Store(path=store) as db:
        db.ensure_collection("c", IndexSettings(), 2)
    description = store / "collections" / "c" / "collection.json"
    description.write_text('{"schema": ')
    with Store(path=store) as db, pytest.raises(StoreError, match="is damaged: collection.json is unreadable.*untouched"):
        db.settings("c")
    assert description.read_text() == '{"schema": '


def test_collection_data_without_the_store_marker_is_refused(tmp_path):
    store = tmp_path / "store"
    with Store(path=store) as db:
        db.ensure_collection("c", IndexSettings(), 2)
    (store / "edge-store.json").unlink()
    with pytest.raises(StoreError, match="is damaged: its marker file is missing but collection data is present"):
        Store(path=store)
    assert (store / "collections" / "c" / "collection.json").exists()


def test_collection_names_cannot_leave_the_store(tmp_path):
    with Store(path=tmp_path / "store") as db:
        for name in ("../evil", "a/b", ".hidden", "", "x" * 200):
            with pytest.raises(StoreError, match="invalid collection name"):
                db.create_collection(name, CollectionSchema(dimension=2), {})
            assert not db.exists(name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_a_second_opening_is_refused_with_one_line_naming_who_holds_it(tmp_path):
    import subprocess
    import sys

    with Store(path=tmp_path / "store"):  # this process holds it
        with pytest.raises(StoreError, match="is already open in this process .*pass the open store"):
            Store(path=tmp_path / "store")
        code = f"from longembed.store import Store; Store({str(tmp_path / 'store')!r})"
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 1 and "is in use by another longembed process" in done.stderr
    with Store(path=tmp_path / "store"):  # released on close
        pass


def test_old_layout_empty_meta_json_next_to_collection_data_is_refused(tmp_path):
    from longembed.store.qdrant import QdrantClientStore

    store = tmp_path / "store"
    with QdrantClientStore(path=store) as db:  # a store of the old layout (qdrant-client's local mode)
        db.ensure_collection("c", IndexSettings(), 2)
        db.upsert("c", [StoredDocument("a.txt", [1.0, 0.0], {"path": "a.txt"})])
    (store / "meta.json").write_bytes(b"")
    data = (store / "collection" / "c" / "storage.sqlite").read_bytes()
    with pytest.raises(StoreError, match="is damaged.*left untouched"):
        Store(path=store)
    assert (store / "meta.json").read_bytes() == b""
    assert (store / "collection" / "c" / "storage.sqlite").read_bytes() == data
