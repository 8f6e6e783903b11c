"""The store's plug-in point and its one payload schema, on a real embedded Qdrant store and a real ingest with the
bundled all-MiniLM-L6-v2 (passages and bm25 on, the defaults)."""

from __future__ import annotations

from typing import get_type_hints

from longembed.ingest import ingest
from longembed.settings import IndexSettings
from longembed.store import DocumentPayload, EdgeStore, QdrantClientStore, Store, VectorStore, point_id


def test_both_backends_are_vector_stores(tmp_path):
    with Store(path=tmp_path / "store") as store:
        assert isinstance(store, VectorStore) and isinstance(store, EdgeStore)
    for backend in (EdgeStore, QdrantClientStore):
        missing = [name for name in VectorStore.__dict__ if not name.startswith("_") and not hasattr(backend, name)]
        assert missing == [], backend


def test_every_payload_field_ingest_writes_is_in_the_schema(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text("The remote control costs twelve euros. It has rubber buttons.")
    with Store(path=tmp_path / "store") as store:
        ingest(docs, IndexSettings(extend="none", max_length=128), store, "c", progress=False)
        (point,) = store.retrieve("c", [point_id("notes.txt")])
    schema = get_type_hints(DocumentPayload)
    assert set(point.payload) == set(schema)  # bm25 and passages on: every field is written
    assert point.payload["passages"] == [[0, 39], [39, 61]]  # two sentences, whitespace kept with the first
    text = point.payload["text"]
    assert [text[a:b] for a, b in point.payload["passages"]] == [
        "The remote control costs twelve euros. ", "It has rubber buttons."
    ]
