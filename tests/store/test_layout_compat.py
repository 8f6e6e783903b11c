"""A store written before the encoding stages were split into ``longembed.encoding`` (main at 494d1d9, stop 18:
``longembed ingest docs --store store`` with the defaults, from a folder since deleted: ``pi``, L_t 4096,
naive one-sentence passages, ``bm25``) is read, queried and re-ingested by today's code unchanged: the same
settings fingerprint, nothing re-embedded, and today's encoder gives exactly the vectors it holds. Real weights
(the bundled all-MiniLM-L6-v2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from longembed.encoding import Encoder
from longembed.ingest import ingest
from longembed.retrieve import Retriever
from longembed.settings import IndexSettings, RunOptions
from longembed.store import DOC_VECTOR, MULTI_VECTOR, Store

FIXTURE = REPO / "tests" / "fixtures" / "passages_store"


@pytest.fixture()
def old(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURE, tmp_path / "old")
    return tmp_path / "old"


def test_a_store_of_the_old_layout_is_queried_and_not_re_embedded(old):
    with Store(old / "store", create=False) as store:  # converted to Qdrant Edge on the way (test_conversion.py)
        settings = store.settings("default")
        assert (settings.extend, settings.max_length, settings.passages) == ("pi", 4096, "naive")
        points = list(store.scroll("default", vectors=[DOC_VECTOR, MULTI_VECTOR]))
        assert {p.payload["settings_fingerprint"] for p in points} == {settings.fingerprint()}
        encoder = Encoder(settings, RunOptions(device="cpu"))
        assert encoder.settings == settings  # the recorded prompts are today's resolved ones
        for p in points:
            (emb,) = encoder.encode_prepared(encoder.prepare([p.payload["text"]], passages=settings))
            np.testing.assert_allclose(p.vectors[DOC_VECTOR], emb.vector, atol=1e-6)
            np.testing.assert_allclose(p.vectors[MULTI_VECTOR], emb.passage_vectors, atol=1e-6)
        retriever = Retriever(store=store, collection="default", encoder=encoder)
        (hit,) = retriever.search("When does the town library close?", k=1)
        assert hit["path"] == "library.txt"
        # the stored span ends with the file's newline; a result's window and match leave trailing whitespace out
        assert hit["passage"]["text"] == "The town library closes at noon on Saturdays."
        assert (hit["passage"]["match_start_char"], hit["passage"]["match_end_char"]) == (0, 45)
        (passage,) = retriever.search("boiling point of mercury", k=1, unit="passage")
        assert (passage["path"], passage["start_char"]) == ("mercury.txt", 0)
        summary = ingest(old / "docs", IndexSettings(), store, "default", encoder=encoder, progress=False)
        assert (len(summary.unchanged), summary.documents) == (3, 0)
