"""sentence-transformers folders: Dense layers after pooling and the model's query/document prompts.

Model: a tiny *random-weight* BERT built from a transformers config (next to the bundled MiniLM tokenizer),
saved by sentence-transformers itself as Transformer → Pooling → Dense(tanh, bias) → Dense(identity, no bias)
→ Normalize with EmbeddingGemma-style prompts; the Dense weights are random, drawn by the test. Our encoder
must give sentence-transformers' own ``encode(..., prompt_name=...)`` output.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from longembed.encoding import Encoder

from longembed.models.paths import with_model_defaults
from longembed.errors import ModelLoadError
from longembed.ingest import ingest
from longembed.models.sentence_transformers_folder import read_sentence_transformers_config
from longembed.settings import IndexSettings
from longembed.store import Store
from longembed.settings import RunOptions
from tiny_models import tiny_model_dir
from tiny_models import small

PROMPTS = {"query": "task: search result | query: ", "document": "title: none | text: ", "STS": "task: sts | "}
TEXTS = ["what did the team decide about the remote control?", "The remote should be cheap and trendy. " * 12]


def save_st_folder(tmp_path: Path, model_path: str, safe_serialization: bool) -> str:
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig

    transformer_dir = tiny_model_dir(tmp_path, model_path, small(BertConfig, max_position_embeddings=128))
    torch.manual_seed(1)
    transformer = models.Transformer(transformer_dir)
    pooling = models.Pooling(32, pooling_mode="mean")
    up = models.Dense(32, 48, bias=True, activation_function=torch.nn.Tanh())
    down = models.Dense(48, 24, bias=False, activation_function=torch.nn.Identity())
    with torch.no_grad():
        for dense in (up, down):
            for param in dense.parameters():
                param.normal_(0.0, 0.5)
    st = SentenceTransformer(modules=[transformer, pooling, up, down, models.Normalize()], prompts=PROMPTS)
    out = tmp_path / f"st-{'safetensors' if safe_serialization else 'bin'}"
    st.save(str(out), safe_serialization=safe_serialization)
    return str(out)


@pytest.mark.parametrize("safe_serialization", [True, False], ids=["safetensors", "pytorch_model.bin"])
def test_dense_layers_and_prompts_match_sentence_transformers(model_path, tmp_path, safe_serialization):
    from sentence_transformers import SentenceTransformer

    folder = save_st_folder(tmp_path, model_path, safe_serialization)
    weights = "model.safetensors" if safe_serialization else "pytorch_model.bin"
    dense_dirs = sorted(p.parent.name for p in Path(folder).glob(f"*_Dense/{weights}"))
    assert dense_dirs == ["2_Dense", "3_Dense"]
    cfg = read_sentence_transformers_config(folder)
    assert [(d.in_features, d.out_features, d.bias) for d in cfg.dense] == [(32, 48, True), (48, 24, False)]
    assert cfg.prompt("query") == PROMPTS["query"] and cfg.prompt("document") == PROMPTS["document"]

    reference = SentenceTransformer(folder, device="cpu")
    enc = Encoder(IndexSettings(model=folder, extend="none"), RunOptions(device="cpu"))
    assert enc.dimension == 24
    assert (enc.settings.query_prefix, enc.settings.document_prefix) == (PROMPTS["query"], PROMPTS["document"])
    for kind in ("query", "document"):
        got = np.stack([e.vector for e in enc.encode(TEXTS, kind=kind)])
        want = reference.encode(TEXTS, prompt_name=kind, convert_to_numpy=True)
        assert got.shape == want.shape == (2, 24)
        np.testing.assert_allclose(got, want, atol=1e-5, err_msg=kind)
    # a prefix given by the user (the empty one included) wins over the model's prompt
    plain = Encoder(IndexSettings(model=folder, extend="none", query_prefix=""), RunOptions(device="cpu"))
    assert (plain.settings.query_prefix, plain.settings.document_prefix) == ("", PROMPTS["document"])
    np.testing.assert_allclose(
        plain.encode(TEXTS[:1], kind="query")[0].vector, reference.encode(TEXTS[:1])[0], atol=1e-5
    )


def test_default_prompt_name_and_models_without_prompts(model_path, tmp_path):
    (tmp_path / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"retrieval": "Represent this: "}, "default_prompt_name": "retrieval"})
    )
    cfg = read_sentence_transformers_config(str(tmp_path))
    assert (cfg.prompt("query"), cfg.prompt("document")) == ("Represent this: ", "Represent this: ")
    resolved = with_model_defaults(IndexSettings())  # bundled MiniLM: no prompts
    assert (resolved.query_prefix, resolved.document_prefix) == ("", "")


def test_collection_records_the_model_prompts(model_path, tmp_path):
    folder = save_st_folder(tmp_path, model_path, safe_serialization=True)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(TEXTS[1])
    with Store(path=tmp_path / "store") as store:
        ingest(docs, IndexSettings(model=folder, extend="none"), store, "c", progress=False)
        recorded = store.settings("c")
    assert (recorded.query_prefix, recorded.document_prefix) == (PROMPTS["query"], PROMPTS["document"])


def test_dense_errors(model_path, tmp_path):
    folder = Path(save_st_folder(tmp_path, model_path, safe_serialization=True))
    config = folder / "2_Dense" / "config.json"
    cfg = json.loads(config.read_text())
    config.write_text(json.dumps({**cfg, "activation_function": "os.system"}))
    with pytest.raises(ModelLoadError, match="not a torch.nn module"):
        Encoder(IndexSettings(model=str(folder), extend="none"), RunOptions(device="cpu"))
    config.write_text(json.dumps({**cfg, "out_features": 47}))
    with pytest.raises(ModelLoadError, match="do not fit its config"):
        Encoder(IndexSettings(model=str(folder), extend="none"), RunOptions(device="cpu"))
