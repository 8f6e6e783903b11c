"""Store safety in-process, on a real embedded Qdrant store: failed writes and interrupted store creation."""

from __future__ import annotations

import pytest

from longembed.errors import StoreError
from longembed.settings import IndexSettings
from longembed.store import Store, StoredDocument


def test_a_failed_write_is_a_store_error_and_keeps_what_was_written(tmp_path):
    store = Store(path=tmp_path / "store")
    store.ensure_collection("c", IndexSettings(), 2)
    store.upsert("c", [StoredDocument("a.txt", [1.0, 0.0], {"path": "a.txt"})])
    store.client.close()  # the backend goes away mid-run
    with pytest.raises(StoreError, match="cannot write to collection 'c'.*everything stored before is kept"):
        store.upsert("c", [StoredDocument("b.txt", [0.0, 1.0], {"path": "b.txt"})])
    with Store(path=tmp_path / "store") as again:
        assert [p.payload["path"] for p in again.client.scroll("c")[0]] == ["a.txt"]


def test_store_whose_creation_was_killed_before_meta_json_was_written_opens(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (store / "meta.json").write_bytes(b"")  # Qdrant killed between creating and writing meta.json
    (store / ".lock").write_text("tmp lock file")
    with Store(path=store) as db:
        assert db.collections() == []
        db.ensure_collection("c", IndexSettings(), 2)
    with Store(path=store) as db:
        assert db.collections() == ["c"]


def test_empty_meta_json_next_to_collection_data_is_refused(tmp_path):
    store = tmp_path / "store"
    with Store(path=store) as db:
        db.ensure_collection("c", IndexSettings(), 2)
        db.upsert("c", [StoredDocument("a.txt", [1.0, 0.0], {"path": "a.txt"})])
    (store / "meta.json").write_bytes(b"")
    data = (store / "collection" / "c" / "storage.sqlite").read_bytes()
    with pytest.raises(StoreError, match="is damaged or from an incompatible version.*left untouched"):
        Store(path=store)
    assert (store / "meta.json").read_bytes() == b""
    assert (store / "collection" / "c" / "storage.sqlite").read_bytes() == data
