"""Decoder embedders (E5-Mistral / Qwen3-Embedding style): last-token pooling, EOS, padding side, instruction
prefixes, optional bidirectional attention, and RoPE methods on causal attention.

Models: tiny *random-weight* Mistral, Qwen2 and Qwen3 models built from transformers configs, with a
decoder-style tokenizer made from the bundled MiniLM vocabulary (no special tokens added, EOS = ``[SEP]``,
left or right padding; transformers loads it as Qwen2Tokenizer for the qwen2 model type, which splits these
words into characters) and sentence-transformers metadata asking for last-token pooling. They check the
mechanics against plain transformers forward passes, not retrieval quality; nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from longembed.encoding import Encoder, pool
from longembed.settings import IndexSettings
from longembed.settings import RunOptions
from tiny_models import save_random_model, small

L_O = 64
EOS = 102  # [SEP] in the MiniLM vocabulary
FAMILIES = {"mistral": "MistralConfig", "qwen2": "Qwen2Config", "qwen3": "Qwen3Config"}
INSTRUCTION = "Instruct: Given a question, retrieve passages that answer it\nQuery: "


def words(n: int) -> str:
    vocab = ["meeting", "remote", "control", "budget", "design", "team", "cheap", "easy"]
    return " ".join(vocab[(i * 5) % 7] for i in range(n))


def save_decoder(
    out: Path, minilm: str, family: str, padding_side: str = "left", tokenizer_adds_eos: bool = False, **config_kw
) -> str:
    """A tiny random-weight decoder (linear weights std 2/sqrt(fan_in), so attention depends on positions),
    a decoder-style tokenizer and last-token pooling metadata."""
    if family == "mistral":  # Mistral-7B's 4096-token window would make both layers local (never extended)
        config_kw.setdefault("sliding_window", None)
    config = small(
        FAMILIES[family], num_key_value_heads=1, head_dim=16, max_position_embeddings=L_O, pad_token_id=0, **config_kw
    )
    save_random_model(out, config, tokenizer_from=None)
    tokenizer = json.loads((Path(minilm) / "tokenizer.json").read_text())
    tokenizer["padding"] = tokenizer["truncation"] = None
    if tokenizer_adds_eos:  # like Qwen3-Embedding's tokenizer: text then EOS
        tokenizer["post_processor"] = {
            "type": "TemplateProcessing",
            "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 0}}],
            "special_tokens": {"[SEP]": {"id": "[SEP]", "ids": [EOS], "tokens": ["[SEP]"]}},
        }
    else:  # like E5-Mistral's original tokenizer: nothing after the text
        tokenizer["post_processor"] = None
    (out / "tokenizer.json").write_text(json.dumps(tokenizer))
    (out / "tokenizer_config.json").write_text(
        json.dumps(
            {"tokenizer_class": "PreTrainedTokenizerFast", "eos_token": "[SEP]", "pad_token": "[PAD]",
             "padding_side": padding_side}
        )
    )
    (out / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
            ]
        )
    )
    (out / "1_Pooling").mkdir()
    (out / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 32, "pooling_mode_lasttoken": True})
    )
    return str(out)


@pytest.fixture(scope="module")
def decoders(model_path, tmp_path_factory) -> dict[tuple[str, str], str]:
    root = tmp_path_factory.mktemp("decoders")
    return {
        (family, side): save_decoder(root / f"{family}-{side}", model_path, family, padding_side=side)
        for family in FAMILIES
        for side in ("left", "right")
    }


def encoder(path: str, extend: str = "none", max_length: int = 4 * L_O, query_prefix=None, **params) -> Encoder:
    settings = IndexSettings(
        model=path, extend=extend, max_length=max_length, query_prefix=query_prefix, extend_params=params
    )
    return Encoder(settings, RunOptions(device="cpu"))


def vectors(enc: Encoder, texts: list[str], kind: str = "document") -> np.ndarray:
    return np.stack([e.vector for e in enc.encode(texts, kind=kind)])


def reference(path: str, ids: list[int], attention_mask: torch.Tensor | None = None) -> np.ndarray:
    """Plain transformers, one unpadded input: the normalised hidden state of the last token."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(path).eval()
    with torch.no_grad():
        hidden = model(input_ids=torch.tensor([ids]), attention_mask=attention_mask).last_hidden_state[0, -1]
    return torch.nn.functional.normalize(hidden, dim=0).numpy()


def test_pooling_picks_the_last_and_first_real_token_with_left_and_right_padding():
    """(d) on a known tensor: rows are [t0 t1 t2 t3]; padded positions must never be picked."""
    hidden = torch.arange(2 * 4, dtype=torch.float32).reshape(2, 4, 1)
    right = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    left = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert pool(hidden, right, "lasttoken").flatten().tolist() == [1, 7]
    assert pool(hidden, left, "lasttoken").flatten().tolist() == [3, 7]
    assert pool(hidden, right, "cls").flatten().tolist() == [0, 4]
    assert pool(hidden, left, "cls").flatten().tolist() == [2, 4]
    assert pool(hidden, left, "mean").flatten().tolist() == [2.5, 5.5]


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_last_token_embedding_with_eos_batch_and_one_by_one(family, side, decoders):
    """(d) + (e): EOS is appended (the tokenizer adds none), the embedding is the EOS token's state as plain
    transformers computes it on the unpadded input, and a padded batch equals the items one by one."""
    path = decoders[(family, side)]
    enc = encoder(path)
    assert enc.pooling == "lasttoken" and enc.tokenizer.padding_side == side
    assert (enc.framing.prefix, enc.framing.suffix) == ((), (EOS,))
    texts = [words(5), words(3 * L_O), words(17)]  # the second is cut at L_o = 64 tokens, EOS included
    embedded = enc.encode(texts)
    assert [e.truncated for e in embedded] == [False, True, False] or family == "qwen2"
    batched = np.stack([e.vector for e in embedded])
    alone = np.concatenate([vectors(enc, [t]) for t in texts])
    np.testing.assert_allclose(batched, alone, atol=1e-5)
    for text, got in zip(texts, batched):
        ids = [*enc.tokenize([text])[0][: L_O - 1], EOS]
        np.testing.assert_allclose(got, reference(path, ids), atol=1e-5)


def test_eos_is_not_doubled_when_the_tokenizer_adds_it(model_path, tmp_path):
    path = save_decoder(tmp_path / "qwen3", model_path, "qwen3", tokenizer_adds_eos=True)
    enc = encoder(path)
    assert (enc.framing.prefix, enc.framing.suffix) == ((), (EOS,))


def test_instruction_prefix_goes_before_queries_only(decoders):
    path = decoders[("qwen3", "left")]
    enc = encoder(path, query_prefix=INSTRUCTION)
    assert enc.settings.document_prefix == ""  # the folder has no prompts
    question = "what did the team decide about the remote control?"
    plain = encoder(path)
    np.testing.assert_allclose(
        vectors(enc, [question], kind="query"), vectors(plain, [INSTRUCTION + question]), atol=1e-6
    )
    np.testing.assert_allclose(vectors(enc, [question]), vectors(plain, [question]), atol=1e-6)
    assert np.abs(vectors(enc, [question], kind="query") - vectors(plain, [question])).max() > 1e-3


@pytest.mark.parametrize("family", list(FAMILIES))
def test_bidirectional_attention_from_config_is_causal_false(family, model_path, tmp_path):
    """``"is_causal": false`` in the model's config (LLM2Vec-style decoders): every token attends to every
    token; the reference is plain transformers with an all-True 4-D mask. Batch and one by one agree."""
    path = save_decoder(tmp_path / family, model_path, family, is_causal=False)
    enc = encoder(path)
    assert all(not m.is_causal for m in enc.model.modules() if hasattr(m, "is_causal") and m is not enc.model)
    texts = [words(5), words(9)]
    batched = vectors(enc, texts)
    np.testing.assert_allclose(batched, np.concatenate([vectors(enc, [t]) for t in texts]), atol=1e-5)
    ids = [*enc.tokenize([texts[1]])[0][: L_O - 1], EOS]
    full = torch.ones(1, 1, len(ids), len(ids), dtype=torch.bool)
    np.testing.assert_allclose(batched[1], reference(path, ids, full), atol=1e-5)
    causal_path = save_decoder(tmp_path / f"{family}-causal", model_path, family)
    assert np.abs(batched[1] - reference(causal_path, ids)).max() > 1e-3


@pytest.mark.parametrize("family", list(FAMILIES))
def test_rope_methods_keep_causal_attention(family, decoders):
    """SelfExtend with g = 1 is the plain causal model past L_o, alone and in a padded batch; ntk runs and
    gives finite unit vectors, batch equal to one by one."""
    path = decoders[(family, "left")]
    texts = [words(3 * L_O), words(20), words(2 * L_O)]
    plain = vectors(encoder(path, "pi", factor="1"), texts)
    se = encoder(path, "se", w="16", g="1")
    np.testing.assert_allclose(vectors(se, texts), plain, atol=1e-5)
    np.testing.assert_allclose(np.concatenate([vectors(se, [t]) for t in texts]), plain, atol=1e-5)
    ntk = encoder(path, "ntk")
    got = vectors(ntk, texts)
    assert np.isfinite(got).all() and np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(got, np.concatenate([vectors(ntk, [t]) for t in texts]), atol=1e-5)
