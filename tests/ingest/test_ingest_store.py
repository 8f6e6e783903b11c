"""Ingest into a real embedded Qdrant store: settings recorded and enforced, points replaced, failures listed."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from longembed.errors import IngestError, StoreError
from longembed.ingest import ingest
from longembed.models.device import cpu_quantization
from longembed.retrieve import Retriever
from longembed.settings import IndexSettings
from longembed.store import Store, point_id

SETTINGS = IndexSettings(extend="pi", max_length=1024)


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "cats.txt").write_text("Cats purr and chase mice around the barn at night. " * 5)
    (folder / "rockets.txt").write_text("The rocket engine burns liquid oxygen and kerosene at launch. " * 5)
    (folder / "long.txt").write_text("The committee met to discuss the harbour budget. " * 200)  # ~1800 tokens
    (folder / "empty.md").write_text("   \n")
    return folder


def test_ingest_records_settings_and_payload(docs, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="longembed.ingest")  # what `longembed ingest --verbose` shows
    with Store(path=tmp_path / "store") as store:
        summary = ingest(docs, SETTINGS, store, "c", progress=False)
        assert summary.documents == 3
        assert [f.path for f in summary.failed] == ["empty.md"]
        assert summary.truncated == ["long.txt"]
        assert "long.txt has 1802 tokens; truncated to 1024" in caplog.text
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert warnings == [  # one line for all truncated documents; no hint to --verbose, which is on
            "1 document truncated to 1024 tokens (longest: 1802 tokens); raise --max-length to keep more"
        ]
        # MiniLM has no prompts: the unset prefixes are recorded as the empty prefixes actually used; on a CPU
        # a new collection gets this CPU's default weights (--dtype auto: bfloat16 with AMX, else int8), recorded
        assert store.settings("c") == replace(SETTINGS, query_prefix="", document_prefix="",
                                              quantization=cpu_quantization())
        (point,) = store.retrieve("c", [point_id("long.txt")])
        assert point.payload["path"] == "long.txt" and point.payload["title"] == "long"
        assert point.payload["n_tokens"] == 1802 and point.payload["truncated"] is True
        assert len(point.payload["sha256"]) == 64
        # re-ingesting the same folder replaces points instead of adding new ones
        (docs / "cats.txt").write_text("Dogs bark at the postman every morning. " * 5)
        ingest(docs, SETTINGS, store, "c", progress=False)
        assert store.count("c") == 3
        retriever = Retriever(store=store, collection="c")
        assert retriever.search("which animal barks at the mail carrier?", k=1)[0]["path"] == "cats.txt"
        assert retriever.search("rocket fuel", k=3)[0]["path"] == "rockets.txt"


def test_other_settings_are_refused_before_any_write(docs, tmp_path):
    with Store(path=tmp_path / "store") as store:
        ingest(docs, SETTINGS, store, "c", progress=False)
        with pytest.raises(StoreError, match=r"extend: \"pi\" \(collection\) vs \"gp\" \(requested\)"):
            ingest(docs, IndexSettings(extend="gp", max_length=1024), store, "c", progress=False)
        assert store.count("c") == 3


def test_nothing_readable_is_an_error(tmp_path):
    folder = tmp_path / "blank"
    folder.mkdir()
    (folder / "a.txt").write_text("")
    with Store(path=tmp_path / "store") as store:
        with pytest.raises(IngestError, match="no document could be ingested"):
            ingest(folder, SETTINGS, store, "c", progress=False)


def test_local_store_held_by_another_client_gives_a_clear_error(tmp_path):
    # held by this process; another process is told "in use by another longembed process"
    # (tests/store/test_store_safety.py)
    with Store(path=tmp_path / "store"):
        with pytest.raises(StoreError, match="is already open in this process"):
            Store(path=tmp_path / "store")
