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


# One tiny model per position kind, for the tests that run every extension method (devices, int8 weights).
L_O = 64
"""Original length L_o of the tiny models of :data:`CONFIGS` (tokens)."""
MAX_LENGTH = 4 * L_O
CONFIGS = {
    "bert": ("BertConfig", {}),
    "roberta": ("RobertaConfig", {"pad_token_id": 1, "max_position_embeddings": L_O + 2}),
    "bert_tuned": ("BertConfig", {"max_position_embeddings": MAX_LENGTH}),
    "modernbert": ("ModernBertConfig", {"pad_token_id": 0, "global_attn_every_n_layers": 2, "local_attention": 16}),
    "gemma3_text": (
        "Gemma3TextConfig",
        {
            "pad_token_id": 0,
            "head_dim": 16,
            "num_key_value_heads": 1,
            "sliding_window": 8,
            "use_bidirectional_attention": True,
            "layer_types": ["sliding_attention", "full_attention"],
        },
    ),
    "nomic_bert": ("NomicBertConfig", {}),
    "gte": ("GteConfig", {}),
    "jina_embeddings_v3": ("JinaEmbeddingsV3Config", {}),
    "eurobert": ("EuroBertConfig", {"pad_token_id": 0}),
}
MODELS_BY_KIND = {
    "ape": ["bert", "roberta"],
    "rope": ["modernbert", "gemma3_text", "nomic_bert", "gte", "jina_embeddings_v3", "eurobert"],
    "tuned": ["bert_tuned"],
    None: ["bert"],  # a model whose positions were not recognised: only "none"
}



def load_every_kind(root: Path, model_path: str) -> dict:
    """Each model of :data:`CONFIGS` saved under ``root`` and loaded on the CPU as the encoder loads it
    (positions and framing detected); ``bert_tuned`` is marked as a tuned-position model of L_o = :data:`L_O`."""
    import dataclasses

    from longembed.models.loading import load_model

    out = {}
    for family, (config_name, extra) in CONFIGS.items():
        config = small(config_name, **{"max_position_embeddings": L_O, **extra})
        out[family] = load_model(save_random_model(root / family, config, model_path), "cpu")
    tuned = out["bert_tuned"]
    out["bert_tuned"] = dataclasses.replace(
        tuned, positions=dataclasses.replace(tuned.positions, kind="tuned", original_length=L_O,
                                             table_length=MAX_LENGTH, tuned_layout="pi")
    )
    return out
