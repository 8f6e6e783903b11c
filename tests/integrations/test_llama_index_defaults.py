"""LongEmbedEmbedding built as the README shows it: no arguments, or ``IndexSettings(...)`` alone, whose prefixes
default to ``None`` (the model's own prompts). Real MiniLM weights; the prompt test copies the bundled model
folder and gives it sentence-transformers prompts (the weights are unchanged)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from longembed.integrations.llama_index import LongEmbedEmbedding

pytestmark = pytest.mark.slow  # three model loads and 4096-token inputs: ~45 s on 2 cores
from longembed.settings import IndexSettings

PROMPTS = {"query": "Represent this question for retrieval: ", "document": "Represent this meeting: "}
TEXT = "Who is allergic to cats?"


def test_no_arguments_and_readme_settings(model_path):
    """``LongEmbedEmbedding()`` and ``LongEmbedEmbedding(IndexSettings(extend="pi", max_length=4096))`` work;
    the bundled MiniLM has no prompts, so both prefixes resolve to ''."""
    plain = LongEmbedEmbedding()
    assert (plain.query_prefix, plain.document_prefix) == ("", "")
    assert (plain.settings.query_prefix, plain.settings.document_prefix) == ("", "")
    readme = LongEmbedEmbedding(IndexSettings(extend="pi", max_length=4096), encoder=None)
    assert (readme.extend, readme.max_length) == ("pi", 4096)
    q = np.array(readme.get_query_embedding(TEXT))
    assert q.shape == (384,) and abs(float(np.linalg.norm(q)) - 1.0) < 1e-5
    np.testing.assert_allclose(q, plain.get_text_embedding(TEXT), atol=1e-6)  # no prompt: query == document


@pytest.fixture()
def prompted_model(model_path, tmp_path):
    folder = tmp_path / "minilm-with-prompts"
    shutil.copytree(model_path, folder)
    (folder / "config_sentence_transformers.json").write_text(json.dumps({"prompts": PROMPTS}))
    return str(folder)


def test_default_prefixes_are_the_models_prompts(prompted_model, model_path):
    """Prefixes None take the model's prompts: a query is embedded as prompts['query'] + text (checked against
    the same weights without prompts, given the prefixed text)."""
    embed = LongEmbedEmbedding(IndexSettings(model=prompted_model, max_length=1024), device="cpu")
    assert (embed.query_prefix, embed.document_prefix) == (PROMPTS["query"], PROMPTS["document"])
    assert embed.settings.query_prefix == PROMPTS["query"]
    bare = LongEmbedEmbedding(IndexSettings(model=model_path, max_length=1024), device="cpu")
    np.testing.assert_allclose(
        embed.get_query_embedding(TEXT), bare.get_text_embedding(PROMPTS["query"] + TEXT), atol=1e-6
    )
    np.testing.assert_allclose(
        embed.get_text_embedding(TEXT), bare.get_text_embedding(PROMPTS["document"] + TEXT), atol=1e-6
    )
