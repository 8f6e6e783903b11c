"""RoPE methods on a real RoPE model: EmbeddingGemma-300M (Gemma3 text encoder, bidirectional, L_o = 2048;
global layers θ = 1e6, sliding ±512-token layers θ = 1e4), real weights.

Runs only when ``LONGEMBED_ROPE_MODEL`` names the model folder (``/work/shared/tools/fetch-embeddinggemma DIR``
builds it; 1.2 GB, Gemma terms of use, never committed); skipped otherwise, and in CI. It checks position
mechanics on the encoder's output (pooling, the folder's two Dense layers 768 → 3072 → 768, normalisation),
and that short texts get exactly sentence-transformers' embedding with the model's query/document prompts;
not retrieval quality.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from longembed.encoding import Encoder
from longembed.extenders.rope_scaling import rotary_tables
from longembed.settings import IndexSettings
from longembed.settings import RunOptions

MODEL = os.environ.get("LONGEMBED_ROPE_MODEL", "")
pytestmark = pytest.mark.skipif(not MODEL, reason="set LONGEMBED_ROPE_MODEL=DIR (EmbeddingGemma folder) to run")


def encoder(extend: str, max_length: int = 8192, **params) -> Encoder:
    return Encoder(IndexSettings(model=MODEL, extend=extend, max_length=max_length, extend_params=params), RunOptions(device="cpu"))


def vectors(enc: Encoder, texts: list[str]) -> np.ndarray:
    return np.stack([e.vector for e in enc.encode(texts)])


SHORT = [
    "what did the team decide about the remote control?",
    "The remote control should be cheap, trendy and easy to use. " * 40,  # ~500 tokens
]
LONG = " ".join(f"The meeting number {i} discussed the budget of the remote control." for i in range(230))


def test_embeddinggemma_is_rope_with_2048_positions_and_two_thetas():
    enc = encoder("ntk")  # s = 4 -> λ = 5
    assert (enc.positions.kind, enc.original_length) == ("rope", 2048)
    tables = {t.layer_type: t.get()[0] for t in rotary_tables(enc.model)}
    dims = 2 * tables["full_attention"].shape[0]
    j = torch.arange(0, dims, 2, dtype=torch.float64) / dims
    torch.testing.assert_close(tables["full_attention"].double(), 1.0 / (1e6 * 5.0) ** j, rtol=1e-6, atol=0)
    torch.testing.assert_close(tables["sliding_attention"].double(), 1.0 / 1e4**j, rtol=1e-6, atol=0)


def test_embeddinggemma_short_inputs_keep_the_original_embedding():
    expected = vectors(encoder("none"), SHORT)
    for method, params in [("se", {}), ("gp", {}), ("pcw", {}), ("ntk", {"short_native": "1"})]:
        np.testing.assert_allclose(vectors(encoder(method, **params), SHORT), expected, atol=1e-5, err_msg=method)


def test_embeddinggemma_self_extend_past_l_o():
    """g = 1 reproduces the unextended model past L_o (pi factor 1); default se gives a finite unit vector."""
    plain = encoder("pi", factor="1")
    (long_item,) = plain.encode([LONG])
    assert 2048 < long_item.n_tokens <= 4096
    np.testing.assert_allclose(vectors(encoder("se", w="512", g="1"), [LONG]), [long_item.vector], atol=1e-4)
    got = vectors(encoder("se", max_length=4096), [LONG])[0]
    assert np.isfinite(got).all() and abs(np.linalg.norm(got) - 1) < 1e-5
    assert np.abs(got - long_item.vector).max() > 1e-4


def test_embeddinggemma_matches_sentence_transformers_with_its_prompts():
    """Dense layers and prompts ("task: search result | query: ", "title: none | text: ") as in
    ``SentenceTransformer(DIR).encode(texts, prompt_name=...)``, float32 on CPU."""
    from sentence_transformers import SentenceTransformer

    enc = encoder("none", max_length=2048)
    assert enc.settings.query_prefix == "task: search result | query: "
    assert enc.settings.document_prefix == "title: none | text: "
    assert enc.dimension == 768 and [type(m).__name__ for m in enc.head] == ["Dense", "Dense"]
    reference = SentenceTransformer(MODEL, device="cpu")
    for kind in ("query", "document"):
        want = reference.encode(SHORT, prompt_name=kind, convert_to_numpy=True)
        got = np.stack([e.vector for e in enc.encode(SHORT, kind=kind)])
        np.testing.assert_allclose(got, want, atol=1e-4, err_msg=kind)
