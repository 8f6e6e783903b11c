"""Every APE method on the bundled all-MiniLM-L6-v2 (real weights, L_o = 512) at 4096 tokens, on a real
meeting transcript from the sample folder: finite, unit-norm embeddings, nothing truncated but by ``none``."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import SAMPLE_DOCS
from longembed.encoding import Encoder
from longembed.extenders import methods_for
from longembed.settings import IndexSettings
from longembed.settings import RunOptions

L_T = 4096


@pytest.fixture(scope="module")
def long_text() -> str:
    """Sample transcripts joined and cut to exactly 4094 content tokens (4096 with [CLS] and [SEP])."""
    enc = Encoder(IndexSettings(extend="none"), RunOptions(device="cpu"))
    text = "\n".join(p.read_text() for p in sorted(SAMPLE_DOCS.glob("*.txt"))[:4])
    ids = enc.tokenize([text])[0][: L_T - 2]
    text = enc.tokenizer.decode(ids)
    assert len(enc.tokenize([text])[0]) == L_T - 2
    return text


def test_every_ape_method_embeds_4096_tokens(long_text):
    assert methods_for("ape") == ["none", "pcw", "gp", "rp", "pi"]
    got = {}
    for method in methods_for("ape"):
        enc = Encoder(IndexSettings(extend=method, max_length=L_T), RunOptions(device="cpu"))
        (item,) = enc.encode([long_text])
        assert item.n_tokens == L_T
        assert item.truncated == (method == "none"), method
        assert item.n_segments == (9 if method == "pcw" else 1), method  # ⌈4094 / 510⌉ windows of L_o tokens
        assert item.vector.shape == (384,) and np.isfinite(item.vector).all(), method
        assert abs(float(np.linalg.norm(item.vector)) - 1) < 1e-5, method
        got[method] = item.vector
    names = list(got)
    for i, a in enumerate(names):  # each method sees the text differently
        for b in names[i + 1 :]:
            assert float(got[a] @ got[b]) < 1 - 1e-4, (a, b)
