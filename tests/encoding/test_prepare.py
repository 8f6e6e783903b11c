"""The stages before and around the model: clipping and tokenizing (:mod:`longembed.encoding.prepare`), token-budget
batches and padded inputs (:mod:`longembed.encoding.forward`), mask and span pooling
(:mod:`longembed.encoding.pooling`). Real text and the bundled all-MiniLM-L6-v2 (real weights), or hand-made
tensors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from longembed.encoding import Encoder
from longembed.encoding.forward import batch_inputs, token_budget_batches
from longembed.encoding.pooling import span_means
from longembed.encoding.prepare import CLIP_CHARS_PER_TOKEN, CLIP_MARGIN_TOKENS
from longembed.extenders import Segment
from longembed.settings import IndexSettings, RunOptions


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(IndexSettings(extend="none", max_length=128), RunOptions(device="cpu"))


def test_clipped_long_text_embeds_exactly_like_the_whole_text(encoder):
    """A text far longer than the limit is tokenized by prefixes; its first tokens, and so its vector, are those
    of the whole text (compared on a 200k-character text that can still be tokenized whole)."""
    words = "the harbour committee met on tuesday to discuss budget pier fishing fleet and weather".split()
    text = " ".join(words[(i * 7) % len(words)] for i in range(40_000))
    head, clipped = encoder.preparer.clip(text)
    assert clipped and len(head) < len(text) and len(head) >= (126 + 64) * CLIP_CHARS_PER_TOKEN
    whole, cut = encoder.encode([text, head])
    assert whole.truncated and cut.truncated
    np.testing.assert_array_equal(whole.vector, cut.vector)
    prepared = encoder.prepare([text], clip=True)
    assert prepared.clipped == [True] and prepared.texts == [head]
    alone = encoder.encode([text])[0]  # a batch of one, as below (BLAS may round a batch of two differently)
    np.testing.assert_array_equal(encoder.encode_prepared(prepared)[0].vector, alone.vector)
    short = "A short note."
    assert encoder.preparer.clip(short) == (short, False)


def test_a_degenerate_text_is_clipped_after_two_prefixes(encoder, monkeypatch):
    """One 3 MB word is a single [UNK]: no prefix ever reaches the limit. The clip tries two prefixes and keeps
    the third (16 times the first) instead of tokenizing the whole text (issue 14 row 8)."""
    calls = []
    original = encoder.preparer.tokenize
    monkeypatch.setattr(encoder.preparer, "tokenize", lambda texts: calls.append(len(texts[0])) or original(texts))
    text = "a" * 3_000_000
    head, clipped = encoder.preparer.clip(text)
    first = (encoder.extender.content_limit + CLIP_MARGIN_TOKENS) * CLIP_CHARS_PER_TOKEN
    assert calls == [first, 4 * first] and clipped and head == text[: 16 * first]


def test_passages_tokenize_each_document_once_with_the_ids_of_plain_prepare(encoder, monkeypatch):
    from dataclasses import replace

    text = "The harbour committee met on Tuesday. It approved a new pier for the fishing fleet. " * 3
    settings = replace(encoder.settings, passages="late")
    calls = []
    tokens = encoder.preparer.tokens
    with_offsets, ids_only = tokens.ids_and_offsets, tokens.ids
    monkeypatch.setattr(tokens, "ids_and_offsets", lambda texts: calls.append(True) or with_offsets(texts))
    monkeypatch.setattr(tokens, "ids", lambda texts: calls.append(False) or ids_only(texts))
    prepared = encoder.preparer.prepare_with_passages([text], settings)
    assert calls == [True]  # one call, with offsets
    monkeypatch.undo()
    plain = encoder.prepare([text])
    assert prepared.token_ids == plain.token_ids
    assert [s.input_ids for s in prepared.plans[0]] == [s.input_ids for s in plain.plans[0]]
    assert encoder.token_limit == 128


def _segments(*lengths: int, variant: str = "") -> list[Segment]:
    return [Segment([7] * n, list(range(n)), variant) for n in lengths]


def test_token_budget_batches_group_longest_first_within_budget_variant_and_length_ratio():
    assert token_budget_batches(_segments(37, 40, 30, 38), 90) == [[1, 3], [0], [2]]  # 3 × 40 > 90
    # 37 and 38 pad to 40 (under 10 % more); 30 would pad to 40 (a third more): a batch of its own
    assert token_budget_batches(_segments(37, 40, 30, 38), 1000) == [[1, 3, 0], [2]]
    mixed = _segments(8, 8) + _segments(8, variant="scaled")
    assert token_budget_batches(mixed, 1000) == [[0, 1], [2]]  # variants never share a batch
    assert token_budget_batches(_segments(100), 10) == [[0]]  # longer than the budget: a batch of its own


def test_batch_inputs_pad_right_or_left_and_repeat_the_nearest_position():
    segs = [Segment([5, 6, 7], [0, 1, 2]), Segment([8], [4])]
    right = batch_inputs(segs, pad_token_id=0, left_padded=False, token_type_ids=True, device="cpu")
    assert right["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert right["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert right["position_ids"].tolist() == [[0, 1, 2], [4, 4, 4]]
    assert right["token_type_ids"].tolist() == [[0, 0, 0], [0, 0, 0]]
    left = batch_inputs(segs, pad_token_id=9, left_padded=True, token_type_ids=False, device="cpu")
    assert left["input_ids"].tolist() == [[5, 6, 7], [9, 9, 8]]
    assert left["position_ids"].tolist() == [[0, 1, 2], [4, 4, 4]]
    assert "token_type_ids" not in left


def test_span_means_average_each_span_of_each_row_with_padding_on_either_side():
    hidden = torch.arange(2 * 4 * 1, dtype=torch.float32).reshape(2, 4, 1)  # row 0: 0..3, row 1: 4..7
    out = span_means(hidden, lengths=[4, 2], spans=[[(0, 2), (1, 4)], [(0, 2)]], left_padded=False)
    assert out[:, 0].tolist() == [0.5, 2.0, 4.5]
    left = span_means(hidden, lengths=[4, 2], spans=[[], [(1, 2)]], left_padded=True)  # row 1 real: 6, 7
    assert left[:, 0].tolist() == [7.0]
    assert span_means(hidden, [4, 2], [[], []], False).shape == (0, 1)
