"""The on-disk embedding cache: same vectors as the encoder, reused across runs and methods that share settings,
separate keys for other settings, and an interrupted ingest resumes from what was committed.
Real model: the bundled all-MiniLM-L6-v2."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from longembed.bench.cache import CachedEncoder, EmbeddingCache, settings_key
from longembed.encoding import Encoder
from longembed.ingest import SourceDocument, ingest_documents
from longembed.settings import IndexSettings
from longembed.store import EdgeStore, Store
from longembed.settings import RunOptions

TEXTS = [
    "Cats purr and chase mice around the barn at night. " * 70,  # 840 tokens: 2 windows of 510
    "The rocket engine burns liquid oxygen and kerosene at launch.",
    "The committee met to discuss the harbour budget. " * 30,
]


def test_cached_vectors_equal_the_encoders_and_are_reused(tmp_path):
    encoder = Encoder(IndexSettings(extend="pcw", max_length=1024), RunOptions(device="cpu"))
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    cached = CachedEncoder(encoder, cache)
    direct = encoder.encode(TEXTS, keep_segments=True)
    first = cached.encode(TEXTS, keep_segments=True)
    assert (cached.computed, cached.reused) == (3, 0) and len(cache) == 3
    assert cached.seconds == pytest.approx(cached.computed_seconds)
    for a, b in zip(direct, first):
        assert np.allclose(a.vector, b.vector, atol=1e-6)
        assert np.allclose(a.segment_vectors, b.segment_vectors, atol=1e-6)
        assert (a.n_tokens, a.truncated, a.n_segments) == (b.n_tokens, b.truncated, b.n_segments)
    assert first[0].n_segments == 2
    cache.close()

    # a new process: everything comes from disk, bit for bit
    cached = CachedEncoder(encoder, EmbeddingCache(tmp_path / "c.sqlite"))
    again = cached.encode(TEXTS[::-1])
    assert (cached.computed, cached.reused) == (0, 3)
    assert cached.seconds > 0 and cached.computed_seconds == 0  # the recorded cost, not this run's
    assert all(np.array_equal(a.vector, b.vector) for a, b in zip(first[::-1], again))
    assert again[0].segment_vectors is None  # only when asked for

    # other settings are other entries
    other = Encoder(IndexSettings(extend="pcw", max_length=512), RunOptions(device="cpu"))
    assert settings_key(other) != settings_key(encoder)
    assert settings_key(Encoder(IndexSettings(extend="pcw", max_length=1024), RunOptions(device="cpu"))) == settings_key(encoder)
    fresh = CachedEncoder(other, cached.cache)
    fresh.encode(TEXTS[:1])
    assert fresh.computed == 1 and len(cached.cache) == 4
    # queries never touch the cache
    fresh.encode(["what do cats chase?"], kind="query")
    assert len(cached.cache) == 4


def test_interrupted_ingest_resumes_from_the_cache(tmp_path, monkeypatch):
    settings = IndexSettings(extend="none", max_length=512, passages="none")  # as the bench ingests (no passages)
    encoder = Encoder(settings, RunOptions(device="cpu"))
    docs = [
        SourceDocument(f"d{i}", f"d{i}", t, hashlib.sha256(t.encode()).hexdigest())
        for i, t in enumerate([f"Document number {i} talks about topic {i}." for i in range(6)])
    ]
    real_upsert = EdgeStore.upsert
    calls = []

    def upsert_then_die(self, collection, documents):
        calls.append(len(documents))
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user stops the run during the second batch
        real_upsert(self, collection, documents)

    with Store(path=tmp_path / "s") as store:
        cached = CachedEncoder(encoder, EmbeddingCache(tmp_path / "c.sqlite"))
        monkeypatch.setattr(EdgeStore, "upsert", upsert_then_die)
        with pytest.raises(KeyboardInterrupt):
            ingest_documents(docs, settings, store, "c", encoder=cached, docs_per_batch=2, progress=False)
        assert cached.computed == 4 and len(cached.cache) == 4  # two batches were embedded and committed
        monkeypatch.setattr(EdgeStore, "upsert", real_upsert)
        cached.reset_counters()
        ingest_documents(docs, settings, store, "c", encoder=cached, docs_per_batch=2, progress=False)
        # batch 1 is in the index (skipped as unchanged), batch 2 was embedded but not stored (from the cache),
        # batch 3 was never reached (computed)
        assert (cached.computed, cached.reused) == (2, 2)
        assert store.count("c") == 6
