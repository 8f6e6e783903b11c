"""The ingest progress bar moves with every forward pass of the model, not once per batch (real MiniLM)."""

from __future__ import annotations

import io

import pytest

from longembed.encoding import Encoder
from longembed.ingest import ingest
from longembed.ingest.progress import IngestProgress
from longembed.settings import IndexSettings
from longembed.store import Store
from longembed.settings import RunOptions

SETTINGS = IndexSettings(extend="none", max_length=128, passages="none")  # document passes only: the bar counts them
TEXTS = [f"Meeting {i}: the harbour committee discussed the budget for the new pier. " * 12 for i in range(3)]


def test_every_forward_pass_moves_the_bar():
    encoder = Encoder(SETTINGS, RunOptions(device="cpu", batch_tokens=128))  # one 128-token input per forward pass
    prepared = encoder.prepare(TEXTS, kind="document")
    tokens = sum(len(s.input_ids) for plan in prepared.plans for s in plan)
    shown = io.StringIO()
    with IngestProgress(len(TEXTS), file=shown, mininterval=0) as progress:
        with progress.encoding(encoder, len(TEXTS), prepared):
            encoder.encode_prepared(prepared)
        assert encoder.on_forward is None  # the hook is removed after the batch
        assert (progress.forward_passes, progress.tokens) == (3, tokens) and tokens == 3 * 128
        assert progress.bar.n == pytest.approx(3)
        progress.batch_done(3)
    frames = shown.getvalue().split("\r")
    assert any(" 1/3 doc" in f and "128 tokens" in f for f in frames), frames  # within the batch
    assert any(" 2/3 doc" in f and "256 tokens" in f for f in frames), frames
    assert " 3/3 doc" in frames[-1] and "384 tokens" in frames[-1]


def test_ingest_updates_the_bar_within_its_first_batch(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, text in enumerate(TEXTS):
        (docs / f"m{i}.txt").write_text(text)
    events: list[str] = []
    forward, batch_done = IngestProgress.forward, IngestProgress.batch_done
    monkeypatch.setattr(IngestProgress, "forward", lambda self, n: (events.append(f"forward {n}"), forward(self, n)))
    monkeypatch.setattr(IngestProgress, "batch_done", lambda self, n: (events.append(f"done {n}"), batch_done(self, n)))
    with Store(path=tmp_path / "store") as store:
        summary = ingest(docs, SETTINGS, store, "c", progress=True, run=RunOptions(device="cpu", batch_tokens=128))
    assert summary.documents == 3
    assert events == ["forward 128", "forward 128", "forward 128", "done 3"]  # one batch of three documents
