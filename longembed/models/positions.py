"""What a loaded model and its tokenizer say about positions and framing: the position encoding (APE, RoPE
or unrecognised) with its original length L_o, and the special tokens put around every input."""

from __future__ import annotations

from torch import nn

from longembed.errors import ModelLoadError
from longembed.extenders import Framing, ModelPositions, find_position_embeddings

MIN_VOCABULARY = 100
"""A tokenizer with fewer tokens than this has no vocabulary (only special tokens): the files are missing."""


def detect_positions(model: nn.Module) -> ModelPositions:
    """Which position encoding ``model`` uses, and its original context length L_o.

    - learned absolute ``position_embeddings`` -> ``ape``; RoBERTa-style tables (with a ``padding_idx``)
      start at ``padding_idx + 1``, so L_o = max_position_embeddings − padding_idx − 1;
    - rotary embeddings (``rope_theta`` / ``rope_parameters`` in the config, or a rotary module) -> ``rope``,
      L_o = max_position_embeddings;
    - anything else -> kind ``None`` (only ``none`` applies).
    """
    config = getattr(model, "config", None)
    found = find_position_embeddings(model)
    if found is not None:
        embeddings, table = found
        padding_idx = getattr(embeddings, "padding_idx", None)
        offset = padding_idx + 1 if isinstance(padding_idx, int) else 0
        return ModelPositions("ape", table.num_embeddings - offset, offset)
    max_positions = int(getattr(config, "max_position_embeddings", 0) or 512)
    has_rope = any(
        getattr(config, attr, None) is not None for attr in ("rope_theta", "rope_parameters", "rope_scaling")
    ) or any("rotary" in type(m).__name__.lower() for m in model.modules())
    if has_rope:
        return ModelPositions("rope", max_positions, 0)
    return ModelPositions(None, max_positions, 0)


def with_eos(framing: Framing, eos_token_id: int | None) -> Framing:
    """``framing`` with the EOS token appended when the tokenizer does not end inputs with it.

    Last-token-pooled decoder embedders (E5-Mistral, Qwen3-Embedding, gte-Qwen2) are trained with the EOS
    token as the last input token, whose hidden state is the embedding.
    """
    if eos_token_id is None or framing.suffix[-1:] == (eos_token_id,):
        return framing
    return Framing(framing.prefix, (*framing.suffix, eos_token_id))


def special_token_framing(tokenizer) -> Framing:
    """The special tokens the tokenizer puts before and after a text (e.g. ``[CLS]`` and ``[SEP]``)."""
    probe = "longembed probe text"
    content = tokenizer(probe, add_special_tokens=False)["input_ids"]
    framed = tokenizer(probe, add_special_tokens=True)["input_ids"]
    for at in range(len(framed) - len(content) + 1):
        if framed[at : at + len(content)] == content:
            return Framing(tuple(framed[:at]), tuple(framed[at + len(content) :]))
    raise ModelLoadError("the tokenizer changes a text when it adds special tokens; cannot frame inputs")
