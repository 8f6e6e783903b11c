"""Decoder embedders trained with bidirectional attention (LLM2Vec-style ``"is_causal": false`` configs)."""

from __future__ import annotations

from torch import nn


def bidirectional_if_configured(model: nn.Module) -> bool:
    """Make every attention module of a decoder bidirectional when its config says ``is_causal: false``.

    transformers builds a bidirectional mask for such a config (``masking_utils.create_causal_mask``), but its
    SDPA path falls back on each attention module's own ``is_causal`` flag when it skips an all-ones mask, so
    the flags are cleared too. Returns whether the model is bidirectional that way.
    """
    if getattr(model.config, "is_causal", True) is not False:
        return False
    for module in model.modules():
        if hasattr(module, "is_causal") and module is not model:
            module.is_causal = False
    return True
