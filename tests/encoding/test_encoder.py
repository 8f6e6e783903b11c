"""Encoder: model loading, sentence-transformers metadata, position-encoding detection, pooling, truncation.

Models: the bundled all-MiniLM-L6-v2 (real weights), and tiny *random-weight* models built from transformers
configs (BERT, RoBERTa, ModernBERT) to check position mechanics without any download.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from longembed.encoding import Encoder, pool

from longembed.models.sentence_transformers_folder import read_sentence_transformers_config

from longembed.models.paths import resolve_model_path
from longembed.errors import ExtensionError, ModelLoadError
from longembed.settings import IndexSettings
from longembed.settings import RunOptions
from tiny_models import small, tiny_model_dir


def test_default_model_reports_ape_and_512_positions(model_path):
    enc = Encoder(IndexSettings(extend="none"), RunOptions(device="cpu"))
    assert enc.model_path == model_path
    assert (enc.positions.kind, enc.original_length, enc.positions.offset) == ("ape", 512, 0)
    assert enc.pooling == "mean" and enc.dimension == 384
    assert enc.framing.prefix == (101,) and enc.framing.suffix == (102,)


def test_sentence_transformers_metadata(model_path, tmp_path):
    cfg = read_sentence_transformers_config(model_path)
    assert (cfg.pooling, cfg.normalize, cfg.transformer_path) == ("mean", True, "")
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "modules.json").write_text(
        json.dumps(
            [
                {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            ]
        )
    )
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_cls_token": True}))
    cfg = read_sentence_transformers_config(str(tmp_path))
    assert (cfg.pooling, cfg.normalize) == ("cls", False)


def test_pooling_modes_on_a_padded_batch():
    hidden = torch.arange(2 * 3 * 2, dtype=torch.float32).reshape(2, 3, 2)
    mask = torch.tensor([[1, 1, 1], [1, 1, 0]])
    assert pool(hidden, mask, "cls").tolist() == [[0, 1], [6, 7]]
    assert pool(hidden, mask, "lasttoken").tolist() == [[4, 5], [8, 9]]
    assert pool(hidden, mask, "mean").tolist() == [[2, 3], [7, 8]]


def test_roberta_positions_start_after_padding_idx(model_path, tmp_path):
    from transformers import RobertaConfig

    path = tiny_model_dir(tmp_path, model_path, small(RobertaConfig, max_position_embeddings=66, pad_token_id=1))
    enc = Encoder(IndexSettings(model=path, extend="pi", max_length=256), RunOptions(device="cpu"))
    # L_o = max_position_embeddings - padding_idx - 1 = 66 - 1 - 1
    assert (enc.positions.kind, enc.original_length, enc.positions.offset) == ("ape", 64, 2)
    table = enc.model.embeddings.position_embeddings.weight
    assert table.shape[0] == 2 + 4 * 64  # padding rows kept, 64 positions enlarged s = 4 times
    segment = enc.extender.segments([2000] * 10)[0]
    assert segment.position_ids == [2 + 4 * p for p in range(12)]  # short input: offset + 0, s, 2s ...


def test_rope_model_is_detected_and_ape_methods_are_refused(model_path, tmp_path):
    from transformers import ModernBertConfig

    config = small(ModernBertConfig, max_position_embeddings=128, pad_token_id=0)
    path = tiny_model_dir(tmp_path, model_path, config)
    enc = Encoder(IndexSettings(model=path, extend="pcw"), RunOptions(device="cpu"))
    assert (enc.positions.kind, enc.original_length) == ("rope", 128)
    with pytest.raises(ExtensionError, match="methods that do: none, pcw, gp, pi, ntk, yarn, se$"):
        Encoder(IndexSettings(model=path, extend="rp"), RunOptions(device="cpu"))


def test_pi_matrix_of_the_real_model_hits_original_rows(model_path):
    from transformers import AutoModel

    original = AutoModel.from_pretrained(model_path).embeddings.position_embeddings.weight
    enc = Encoder(IndexSettings(extend="pi", max_length=2048), RunOptions(device="cpu"))
    enlarged = enc.model.embeddings.position_embeddings.weight
    assert enlarged.shape == (2048, 384)
    assert torch.equal(enlarged[::4], original)
    assert enc.model.embeddings.token_type_ids.shape == (1, 2048)


def test_long_document_is_truncated_and_reported(model_path):
    enc = Encoder(IndexSettings(extend="pi", max_length=1024), RunOptions(device="cpu"))
    text = "meeting " * 3000  # one token per word
    short, long_ = enc.encode(["meeting " * 100, text])
    assert (short.n_tokens, short.truncated) == (102, False)
    assert (long_.n_tokens, long_.truncated) == (3002, True)
    assert abs(float(np.linalg.norm(long_.vector)) - 1) < 1e-5


def test_pcw_document_is_the_normalised_mean_of_its_windows(model_path):
    """Reference: each 512-token window run through plain transformers, mean-pooled, normalised, averaged."""
    from transformers import AutoModel

    enc = Encoder(IndexSettings(extend="pcw", max_length=4096), RunOptions(device="cpu"))
    text = " ".join(f"w{i % 97}" for i in range(1500))
    ids = enc.tokenize([text])[0]
    ids = ids[:1700]
    text = enc.tokenizer.decode(ids)
    assert enc.tokenize([text])[0] == ids
    got = enc.encode([text])[0]
    starts = [0, 510, 1020, 1700 - 510]  # full windows; the last one moved back to hold 510 tokens
    assert got.n_segments == 4
    model = AutoModel.from_pretrained(model_path).eval()
    vectors = []
    with torch.no_grad():
        for s in starts:
            window = torch.tensor([[101, *ids[s : s + 510], 102]])
            hidden = model(input_ids=window).last_hidden_state[0]
            vectors.append(torch.nn.functional.normalize(hidden.mean(dim=0), dim=0).numpy())
    mean = np.mean(vectors, axis=0)
    np.testing.assert_allclose(got.vector, mean / np.linalg.norm(mean), atol=1e-5)


def test_model_path_errors(tmp_path):
    with pytest.raises(ModelLoadError, match="does not exist"):
        resolve_model_path(str(tmp_path / "missing-model"))
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="is a file"):
        resolve_model_path(str(tmp_path / "weights.bin"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match="could not load a tokenizer"):
        Encoder(IndexSettings(model=str(empty)), RunOptions(device="cpu"))
