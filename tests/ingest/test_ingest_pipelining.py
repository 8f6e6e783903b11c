"""Pipelined ingest: the next batch of files is read and tokenized in a worker thread while the model encodes the
current one; results keep their order and equal the unpipelined embeddings (real all-MiniLM-L6-v2, real
embedded Qdrant store)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from longembed.encoding import Encoder
from longembed.ingest import ingest
from longembed.ingest.ahead import read_ahead
from longembed.settings import IndexSettings
from longembed.store import DOC_VECTOR, Store
from longembed.settings import RunOptions

SETTINGS = IndexSettings(extend="pcw", max_length=1024)
WORDS = "harbour pier fleet budget remote control tomato rocket kerosene cat barn mouse".split()


def test_the_next_batch_is_worked_on_while_the_caller_handles_the_current_one():
    started = {i: threading.Event() for i in range(4)}
    threads = []

    def work(i):
        threads.append(threading.current_thread().name)
        started[i].set()
        return i * 10

    seen = []
    for result in read_ahead(range(4), work):
        batch = result // 10
        if batch < 3:  # while batch k is handled here, batch k + 1 gets started in the worker
            assert started[batch + 1].wait(timeout=10), f"batch {batch + 1} was not started during batch {batch}"
        seen.append(result)
    assert seen == [0, 10, 20, 30]
    assert set(threads) == {threads[0]} and threads[0].startswith("longembed-read")


def test_depth_batches_are_worked_on_ahead_of_the_one_handled():
    started = {i: threading.Event() for i in range(6)}

    def work(i):
        started[i].set()
        return i

    seen = []
    for i in read_ahead(range(6), work, depth=3):
        for later in range(i + 1, min(i + 4, 6)):  # while batch i is handled, i + 1 .. i + 3 are submitted
            assert started[later].wait(timeout=10), f"batch {later} was not started during batch {i}"
        seen.append(i)
    assert seen == list(range(6))


def test_an_error_in_the_worker_is_raised_when_its_batch_is_due_and_nothing_more_is_started():
    done = []

    def work(i):
        if i == 2:
            raise ValueError("unreadable batch 2")
        done.append(i)
        return i

    seen = []
    with pytest.raises(ValueError, match="unreadable batch 2"):
        for result in read_ahead(range(6), work):
            seen.append(result)
    assert seen == [0, 1]
    # batch 3 was submitted (one ahead) before batch 2's error surfaced; nothing after it is ever started
    assert done[:2] == [0, 1] and set(done) <= {0, 1, 3}


class ThreadRecordingEncoder(Encoder):
    """The real encoder, recording which thread tokenized each document batch."""

    prepared_in: list[str] = []

    def prepare(self, texts, kind="document", **options):
        if kind == "document":
            self.prepared_in.append(threading.current_thread().name)
        return super().prepare(texts, kind, **options)


def test_pipelined_folder_ingest_tokenizes_ahead_in_the_worker_and_stores_the_plain_embeddings(tmp_path):
    rng = np.random.default_rng(3)
    docs = tmp_path / "docs"
    docs.mkdir()
    texts = {}
    for i in range(11):  # 4 batches of 3 (the last one has 2)
        words = [WORDS[i % len(WORDS)]] * 5 + list(rng.choice(WORDS, size=int(rng.integers(40, 900))))
        texts[f"doc{i:02d}.txt"] = " ".join(words)
        (docs / f"doc{i:02d}.txt").write_text(texts[f"doc{i:02d}.txt"])
    encoder = ThreadRecordingEncoder(SETTINGS, RunOptions(device="cpu", batch_tokens=2048))
    with Store(path=tmp_path / "store") as store:
        summary = ingest(docs, SETTINGS, store, "c", encoder=encoder, docs_per_batch=3, progress=False)
        stored = {
            p.payload["path"]: np.asarray(p.vectors[DOC_VECTOR]) for p in store.scroll("c", vectors=[DOC_VECTOR])
        }
    assert sorted(summary.new) == sorted(texts) and summary.documents == 11
    # the encoder was given, so the worker prepares every batch (its documents with their naive passages, one call
    # per batch): none is left to the main thread
    assert len(encoder.prepared_in) == 4 and all(name.startswith("longembed-read") for name in encoder.prepared_in)
    assert set(summary.stage_seconds) == {"read", "prepare", "encode", "write"}
    assert all(seconds > 0 for seconds in summary.stage_seconds.values())
    # the same vectors as encoding each document alone, in the main thread
    for path, text in texts.items():
        alone = encoder.encode([text], kind="document")[0].vector
        np.testing.assert_allclose(stored[path], alone, atol=1e-5)
