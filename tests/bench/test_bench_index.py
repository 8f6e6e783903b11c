"""The index pieces the chunked baselines add: a ``chunks`` multivector (Qdrant MAX_SIM) next to ``doc``,
per-window vectors from the encoder, in-memory ingest, and retrieval by best chunk. Real model: the bundled
all-MiniLM-L6-v2."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from longembed.encoding import Encoder
from longembed.errors import IngestError, LongEmbedError, StoreError
from longembed.ingest import SourceDocument, ingest_documents
from longembed.retrieve import Retriever
from longembed.settings import IndexSettings
from longembed.store import Store, StoredDocument
from longembed.settings import RunOptions

PCW = IndexSettings(extend="pcw", max_length=2048, passages="none")  # the bench's chunked baseline: no passages


def doc(name: str, text: str) -> SourceDocument:
    return SourceDocument(name, name, text, hashlib.sha256(text.encode()).hexdigest())


def test_chunks_multivector_scores_a_document_by_its_best_chunk(tmp_path):
    with Store(path=tmp_path / "s") as store:
        store.ensure_collection("c", PCW, 2, with_multivector=True)
        assert store.has_multivector("c")
        store.upsert(
            "c",
            [
                StoredDocument("a", [0.7071, 0.7071], {"path": "a"}, multivector=[[1.0, 0.0], [0.0, 1.0]]),
                StoredDocument("b", [0.6, 0.8], {"path": "b"}, multivector=[[0.6, 0.8]]),
            ],
        )
        hits = store.search("c", [1.0, 0.0], 2, using="chunks")
        assert [(h.payload["path"], round(h.score, 4)) for h in hits] == [("a", 1.0), ("b", 0.6)]
        hits = store.search("c", [0.6, 0.8], 2, using="chunks")
        assert [(h.payload["path"], round(h.score, 4)) for h in hits] == [("b", 1.0), ("a", 0.8)]
        # the doc vector ranks differently: cos([1,0],[.7071,.7071]) = .7071 > .6
        assert [h.payload["path"] for h in store.search("c", [0.6, 0.8], 2)] == ["b", "a"]
        assert store.vector_counts("c") == {"doc": 2, "chunks": 3}
        store.ensure_collection("plain", PCW, 2)
        assert store.vector_counts("plain") == {"doc": 0}
        with pytest.raises(StoreError, match="has no 'chunks' multivector"):
            store.search("plain", [1.0, 0.0], 1, using="chunks")
        with pytest.raises(StoreError, match="has no 'chunks' multivector"):
            store.ensure_collection("plain", PCW, 2, with_multivector=True)
        store.delete_collection("plain")
        assert not store.exists("plain")


def test_pcw_window_vectors_average_to_the_document_vector():
    encoder = Encoder(PCW, RunOptions(device="cpu"))
    long_text = "The committee met to discuss the harbour budget. " * 120  # ~1200 tokens -> 3 windows
    short, long_ = encoder.encode(["A short note about cats.", long_text], keep_segments=True)
    assert short.segment_vectors.shape == (1, 384) and np.allclose(short.segment_vectors[0], short.vector, atol=1e-6)
    assert long_.n_segments == 3 and long_.segment_vectors.shape == (3, 384)
    mean = long_.segment_vectors.mean(axis=0)
    assert np.allclose(mean / np.linalg.norm(mean), long_.vector, atol=1e-6)
    assert np.allclose(np.linalg.norm(long_.segment_vectors, axis=1), 1.0, atol=1e-5)
    assert encoder.encode([long_text])[0].segment_vectors is None


def test_in_memory_ingest_with_windows_finds_a_fact_by_its_window(tmp_path):
    filler = "The weather report says it will be cloudy with light winds over the coast. " * 60
    docs = [
        doc("harbour", filler + "The harbour master ordered three new tugboats for the winter season. " + filler),
        doc("rockets", "The rocket engine burns liquid oxygen and kerosene at launch. " * 40),
        doc("weather", filler * 2),
    ]
    encoder = Encoder(PCW, RunOptions(device="cpu"))
    with Store(path=tmp_path / "s") as store:
        summary = ingest_documents(docs, PCW, store, "c", encoder=encoder, progress=False, with_windows=True)
        assert summary.documents == 3 and store.count("c") == 3
        # 1813, 520 and 1800 content tokens in windows of L_o - 2 = 510 tokens: 4, 2 and 4 chunks
        assert store.vector_counts("c") == {"doc": 3, "chunks": 4 + 2 + 4}
        retriever = Retriever(store=store, collection="c", encoder=encoder)
        query = "how many tugboats did the harbour master order?"
        by_chunk = retriever.search(query, k=3, using="chunks")
        assert by_chunk[0]["path"] == "harbour"
        assert by_chunk[0]["score"] > retriever.search(query, k=3, mode="dense")[0]["score"]  # best chunk beats the mean
        with pytest.raises(LongEmbedError, match="does not match collection 'c'"):
            Retriever(store=store, collection="c", encoder=Encoder(IndexSettings(extend="none"), RunOptions(device="cpu")))
        with pytest.raises(IngestError, match="no document to ingest"):
            ingest_documents([], PCW, store, "c", encoder=encoder, progress=False)


def test_bfloat16_weights_give_nearly_the_same_vectors():
    text = ["The harbour master ordered three new tugboats for the winter season. " * 60]  # ~840 tokens
    full = Encoder(IndexSettings(extend="pi", max_length=1024), RunOptions(device="cpu")).encode(text)[0].vector
    half = Encoder(IndexSettings(extend="pi", max_length=1024), RunOptions(device="cpu", dtype="bfloat16"))
    assert half.dtype == torch.bfloat16 and next(half.model.parameters()).dtype == torch.bfloat16
    vector = half.encode(text)[0].vector
    assert vector.dtype == np.float32 and float(vector @ full) > 0.99
    with pytest.raises(LongEmbedError, match="unknown dtype 'int4'"):
        Encoder(IndexSettings(extend="none"), RunOptions(device="cpu", dtype="int4"))
