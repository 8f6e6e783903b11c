"""Tiny *random-weight* models built from transformers configs, saved next to the bundled MiniLM tokenizer files:
shared by the tests that check position mechanics without any download (never retrieval quality)."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import torch

MINILM_TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")
SMALL = {"vocab_size": 30522, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
"""Dimensions of every tiny model (the vocabulary is MiniLM's, so its tokenizer fits)."""


def small(config_class, **overrides):
    """A transformers config of ``config_class`` (a class or its name in ``transformers``) with :data:`SMALL`
    dimensions, ``overrides`` applied on top."""
    if isinstance(config_class, str):
        import transformers

        config_class = getattr(transformers, config_class)
    return config_class(**{**SMALL, **overrides})


def save_random_model(out: Path, config, tokenizer_from: str | None, position_sensitive: bool = True) -> str:
    """Save a random-weight model of ``config`` (seed 0) to ``out``, with the MiniLM tokenizer files of
    ``tokenizer_from`` (``None``: no tokenizer files). Returns ``str(out)``.

    ``position_sensitive`` draws Linear weights with std 2/sqrt(fan_in) (not transformers' 0.02), so attention
    logits are of order 1 and attention depends on positions, as in a trained model.
    """
    from transformers import AutoModel

    torch.manual_seed(0)
    model = AutoModel.from_config(config)
    if position_sensitive:
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.Linear):
                    module.weight.normal_(0.0, 2.0 / math.sqrt(module.in_features))
    model.save_pretrained(out)
    if tokenizer_from is not None:
        for name in MINILM_TOKENIZER_FILES:
            shutil.copy(Path(tokenizer_from) / name, Path(out) / name)
    return str(out)


def tiny_model_dir(tmp_path: Path, model_path: str, config) -> str:
    """Save a random-weight model of ``config`` (transformers' initialisation) next to the MiniLM tokenizer files."""
    return save_random_model(tmp_path / config.model_type, config, model_path, position_sensitive=False)
