"""The ingest progress bar moves with every forward pass of the model, not once per batch, counts the document
tokens the summary counts, and estimates the time left from the work still to do (real MiniLM)."""

from __future__ import annotations

import io

import pytest

from longembed.encoding import Encoder
from longembed.ingest import ingest
from longembed.ingest.progress import IngestProgress, PassCost
from longembed.settings import IndexSettings
from longembed.store import Store
from longembed.settings import RunOptions

SETTINGS = IndexSettings(extend="none", max_length=128, passages="none")  # document passes only: the bar counts them
TEXTS = [f"Meeting {i}: the harbour committee discussed the budget for the new pier. " * 12 for i in range(3)]


@pytest.fixture
def docs(tmp_path):
    """TEXTS as three files."""
    folder = tmp_path / "docs"
    folder.mkdir()
    for i, text in enumerate(TEXTS):
        (folder / f"m{i}.txt").write_text(text)
    return folder


def test_every_forward_pass_moves_the_bar():
    encoder = Encoder(SETTINGS, RunOptions(device="cpu", batch_tokens=128))  # one 128-token input per forward pass
    prepared = encoder.prepare(TEXTS, kind="document")
    tokens = sum(len(s.input_ids) for plan in prepared.plans for s in plan)
    shown = io.StringIO()
    with IngestProgress(len(TEXTS), file=shown, mininterval=0) as progress:
        with progress.encoding(encoder, len(TEXTS), prepared):
            encoder.encode_prepared(prepared)
        assert encoder.on_forward is None  # the hook is removed after the batch
        assert (progress.forward_passes, progress.model_tokens, progress.tokens) == (3, tokens, tokens)
        assert tokens == 3 * 128  # passages none: document tokens are the model's tokens
        assert progress.bar.n == pytest.approx(3)
        progress.batch_done(3)
    frames = shown.getvalue().split("\r")
    assert any(" 1/3 doc" in f and "128 tokens" in f for f in frames), frames  # within the batch
    assert any(" 2/3 doc" in f and "256 tokens" in f for f in frames), frames
    assert " 3/3 doc" in frames[-1] and "384 tokens" in frames[-1]


def test_ingest_updates_the_bar_within_its_first_batch(docs, tmp_path, monkeypatch):
    events: list[str] = []
    forward, batch_done = IngestProgress.forward, IngestProgress.batch_done
    monkeypatch.setattr(IngestProgress, "forward", lambda self, n: (events.append(f"forward {n}"), forward(self, n)))
    monkeypatch.setattr(IngestProgress, "batch_done",
                        lambda self, n, **kw: (events.append(f"done {n}"), batch_done(self, n, **kw)))
    with Store(path=tmp_path / "store") as store:
        summary = ingest(docs, SETTINGS, store, "c", progress=True, run=RunOptions(device="cpu", batch_tokens=128))
    assert summary.documents == 3
    assert events == ["forward [128]", "forward [128]", "forward [128]", "done 3"]  # one batch of three documents


def test_bar_counts_document_tokens_not_passage_inputs(docs, tmp_path, monkeypatch):
    """With naive passages every sentence runs through the model again; the bar's tokens are the summary's."""
    seen: list[IngestProgress] = []
    exit_ = IngestProgress.__exit__
    monkeypatch.setattr(IngestProgress, "__exit__", lambda self, *exc: (seen.append(self), exit_(self, *exc)))
    settings = IndexSettings(extend="none", max_length=128)  # default naive passages
    with Store(path=tmp_path / "store") as store:
        summary = ingest(docs, settings, store, "c", progress=True, run=RunOptions(device="cpu"), docs_per_batch=2)
    (progress,) = seen
    assert summary.tokens == 3 * 128  # each 12-sentence text is cut to 128 tokens
    assert progress.tokens == summary.tokens
    # the document passes (3 x 128) plus the 12 sentences of each text embedded alone
    assert progress.model_tokens > progress.tokens + 3 * 12 * 10
    assert progress.bytes_left == 0 and progress.done == 3


class _Encoder:
    token_limit = 100
    on_forward = None

    class framing:
        n_special = 2


class _Prepared:
    def __init__(self, doc_lengths, model_lengths):
        from longembed.extenders import Segment

        self.token_ids = [[0] * n for n in doc_lengths]
        self.plans = [[Segment([0] * n, list(range(n)))] for n in model_lengths]
        self.extra = None


def test_eta_fits_pass_seconds_to_tokens_and_token_pairs_and_scales_the_bytes_left():
    now = [0.0]
    with IngestProgress(4, total_bytes=1000, clock=lambda: now[0], file=io.StringIO()) as progress:
        encoder = _Encoder()
        assert progress.eta() is None
        now[0] = 5.0  # reading and loading the model: not part of the fit
        # one document input of 300 tokens, two passage inputs of 100: 500 tokens, 110,000 token pairs, 100 bytes
        with progress.encoding(encoder, 2, _Prepared([150, 48], [300, 100, 100]), n_bytes=100):
            now[0] = 17.0
            encoder.on_forward([300])
            # one length seen: seconds per token alone (12 s / 300); 200 tokens left here + 9 x 500 for 900 bytes
            assert progress.eta() == pytest.approx(0.04 * (200 + 9 * 500))
            # document tokens: 100 (150 + 2 cut to the limit) + 50 = 150; 300 of the batch's 500 model tokens ran
            assert progress.tokens == pytest.approx(150 * 300 / 500)
            now[0] = 19.0
            encoder.on_forward([100])
            # 300a + 90,000b = 12 s and 100a + 10,000b = 2 s: a = 0.01 s per token, b = 1e-4 s per pair; left:
            # 100 tokens / 10,000 pairs here, 9 x (500 / 110,000) for the 900 bytes not started
            assert progress.cost.coefficients() == pytest.approx((0.01, 1e-4))
            assert progress.eta() == pytest.approx(0.01 * 4600 + 1e-4 * 1_000_000)  # 146 s (tokens alone: 161 s)
            now[0] = 21.0
            encoder.on_forward([100])
        progress.batch_done(2, tokens=150, n_bytes=100)
        assert progress.tokens == 150 and progress.bytes_left == 900 and progress.model_tokens == 500
        a, b = progress.cost.coefficients()
        assert progress.eta() == pytest.approx(a * 9 * 500 + b * 9 * 110_000)
        progress.batch_done(2, n_bytes=900)  # unchanged documents: nothing left to embed
        assert progress.eta() == 0.0


def test_pass_cost_keeps_both_coefficients_non_negative():
    cost = PassCost()
    cost.add(100, 10_000, 3.0)
    cost.add(200, 40_000, 4.0)  # exact fit a = 0.04, b = -1e-4: seconds per token alone, 1,100 / 50,000
    assert cost.coefficients() == pytest.approx((0.022, 0.0))
    cost = PassCost()
    cost.add(100, 10_000, 1.0)
    cost.add(200, 40_000, 6.0)  # exact fit a = -0.01, b = 2e-4: seconds per pair alone, 250,000 / 1.7e9
    assert cost.coefficients() == pytest.approx((0.0, 250_000 / 1.7e9))
    assert PassCost().coefficients() == (0.0, 0.0)


def test_pass_cost_splits_one_length_by_the_models_flops():
    """Tiny *random-weight* BERT config (d = 32, d_ff = 64): b / a = 1 / (2d + d_ff) = 1 / 128."""
    from transformers import BertConfig, BertModel

    model = BertModel(BertConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2))
    cost = PassCost.for_model(model)
    assert cost.pair_ratio == 1 / 128
    cost.add(128, 128 * 128, 3.0)  # one pass of one 128-token input: x = 128 + 16,384 / 128 = 256 -> a = 3 / 256
    assert cost.coefficients() == pytest.approx((3 / 256, 3 / 256 / 128))
    assert cost.seconds(1000, 10 * 100 * 100) == pytest.approx(3 / 256 * (1000 + 100_000 / 128))
    assert PassCost.for_model(None).pair_ratio is None
