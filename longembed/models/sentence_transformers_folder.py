"""What longembed reads from a sentence-transformers model folder: pooling, the Dense layers that follow it,
normalisation, and the model's query/document prompts.

A sentence-transformers folder lists its modules in ``modules.json`` (Transformer → Pooling → Dense … →
Normalize); ``config_sentence_transformers.json`` holds the prompts (e.g. EmbeddingGemma's
``"task: search result | query: "`` and ``"title: none | text: "``). This module only reads files and builds
the small post-pooling head; the encoder runs it.
"""

from __future__ import annotations

import importlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import torch
from torch import nn

from longembed.errors import ModelLoadError
from longembed.settings import TextKind  # noqa: F401 (older imports)

log = logging.getLogger(__name__)

Pooling = Literal["mean", "cls", "lasttoken"]
POOLINGS: tuple[str, ...] = get_args(Pooling)

DEFAULT_DENSE_ACTIVATION = "torch.nn.modules.activation.Tanh"
"""sentence-transformers' default activation of a Dense layer whose config names none."""

PROMPT_NAMES: dict[str, tuple[str, ...]] = {"query": ("query",), "document": ("document", "passage", "corpus")}
"""Prompt names looked up, in order, for queries and for documents."""


@dataclass(frozen=True)
class DenseConfig:
    """One ``sentence_transformers.models.Dense`` module: y = activation(W x + b) (+ x, or + R x, with a residual).

    Attributes:
        path: the module's folder, relative to the model folder (e.g. ``2_Dense``).
        in_features, out_features: input and output dimensions.
        bias: whether the linear layer has a bias.
        activation: dotted name of a ``torch.nn`` module class (e.g. ``torch.nn.modules.linear.Identity``).
        use_residual: add the input (projected without bias when the dimensions differ) to the output.
    """

    path: str
    in_features: int
    out_features: int
    bias: bool = True
    activation: str = DEFAULT_DENSE_ACTIVATION
    use_residual: bool = False


@dataclass(frozen=True)
class SentenceTransformersConfig:
    """What the encoder takes from a sentence-transformers model folder (``modules.json`` and friends).

    Attributes:
        transformer_path: folder of the transformer, relative to the model folder (``""``: the folder itself).
        pooling: ``mean``, ``cls`` or ``lasttoken``.
        normalize: whether the folder ends with a Normalize module (longembed normalises anyway).
        dense: the Dense layers after pooling, in order.
        prompts: prompt name -> text, from ``config_sentence_transformers.json``.
        default_prompt_name: the prompt sentence-transformers uses when none is named, or ``None``.
        include_prompt: whether pooling includes the prompt's tokens (sentence-transformers' Pooling option).
    """

    transformer_path: str = ""
    pooling: Pooling = "mean"
    normalize: bool = True
    dense: tuple[DenseConfig, ...] = ()
    prompts: dict[str, str] = field(default_factory=dict)
    default_prompt_name: str | None = None
    include_prompt: bool = True

    def prompt(self, kind: TextKind) -> str:
        """The model's prompt for ``kind``: its ``query`` prompt for queries, ``document`` (or ``passage``,
        ``corpus``) for documents, else the ``default_prompt_name`` prompt, else ``""``."""
        for name in PROMPT_NAMES[kind]:
            if name in self.prompts:
                return self.prompts[name]
        if self.default_prompt_name:
            return self.prompts.get(self.default_prompt_name, "")
        return ""


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"could not read {path}: {exc}") from None


def _pooling_mode(cfg: dict) -> Pooling:
    if cfg.get("pooling_mode_cls_token"):
        return "cls"
    if cfg.get("pooling_mode_lasttoken"):
        return "lasttoken"
    if cfg.get("pooling_mode") in ("cls", "lasttoken", "mean"):
        return cfg["pooling_mode"]
    return "mean"


def read_sentence_transformers_config(model_dir: str) -> SentenceTransformersConfig:
    """Read pooling, Dense layers, normalisation and prompts from a sentence-transformers folder.

    Models without ``modules.json`` get mean pooling, no Dense layer and no prompts.

    Raises:
        ModelLoadError: a module's config file cannot be read, or a Dense config lacks its dimensions.
    """
    root = Path(model_dir)
    st_config_file = root / "config_sentence_transformers.json"
    st_config = _read_json(st_config_file) if st_config_file.is_file() else {}
    prompts = {str(k): str(v) for k, v in (st_config.get("prompts") or {}).items()}
    default_prompt_name = st_config.get("default_prompt_name") or None
    modules_file = root / "modules.json"
    if not modules_file.is_file():
        return SentenceTransformersConfig(prompts=prompts, default_prompt_name=default_prompt_name)
    transformer_path, pooling, normalize, include_prompt = "", "mean", False, True
    dense: list[DenseConfig] = []
    for module in _read_json(modules_file):
        kind = module.get("type", "").rsplit(".", 1)[-1]
        path = module.get("path", "")
        cfg_file = root / path / "config.json"
        if kind == "Transformer":
            transformer_path = path
        elif kind == "Pooling":
            cfg = _read_json(cfg_file) if cfg_file.is_file() else {}
            pooling = _pooling_mode(cfg)
            include_prompt = bool(cfg.get("include_prompt", True))
        elif kind == "Dense":
            cfg = _read_json(cfg_file)
            try:
                dense.append(
                    DenseConfig(
                        path=path,
                        in_features=int(cfg["in_features"]),
                        out_features=int(cfg["out_features"]),
                        bias=bool(cfg.get("bias", True)),
                        activation=str(cfg.get("activation_function") or DEFAULT_DENSE_ACTIVATION),
                        use_residual=bool(cfg.get("use_residual", False)),
                    )
                )
            except KeyError as exc:
                raise ModelLoadError(f"{cfg_file} lacks {exc.args[0]!r}") from None
        elif kind == "Normalize":
            normalize = True
        elif kind not in ("", "Transformer"):
            log.warning("sentence-transformers module %s (%s) is not supported and is skipped", kind, path)
    return SentenceTransformersConfig(
        transformer_path=transformer_path,
        pooling=pooling,  # type: ignore[arg-type]
        normalize=normalize,
        dense=tuple(dense),
        prompts=prompts,
        default_prompt_name=default_prompt_name,
        include_prompt=include_prompt,
    )


def activation_module(name: str) -> nn.Module:
    """An instance of the ``torch.nn`` module class named ``name`` (e.g. ``torch.nn.modules.activation.Tanh``).

    Raises:
        ModelLoadError: ``name`` is not a ``torch.`` module class (no other code is imported from a config).
    """
    module_name, _, class_name = name.rpartition(".")
    if not name.startswith("torch.") or not module_name:
        raise ModelLoadError(f"Dense activation {name!r} is not a torch.nn module; only torch.* classes are loaded")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise ModelLoadError(f"unknown Dense activation {name!r}") from None
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ModelLoadError(f"Dense activation {name!r} is not a torch.nn.Module class")
    return cls()


class Dense(nn.Module):
    """A sentence-transformers Dense layer: (batch, in_features) -> (batch, out_features)."""

    def __init__(self, config: DenseConfig) -> None:
        super().__init__()
        self.config = config
        self.linear = nn.Linear(config.in_features, config.out_features, bias=config.bias)
        self.activation = activation_module(config.activation)
        if config.use_residual and config.in_features != config.out_features:
            self.residual = nn.Linear(config.in_features, config.out_features, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.activation(self.linear(x))
        if self.config.use_residual:
            out = out + (self.residual(x) if hasattr(self, "residual") else x)
        return out


def _dense_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    safetensors_file = folder / "model.safetensors"
    if safetensors_file.is_file():
        from safetensors.torch import load_file

        return load_file(str(safetensors_file))
    bin_file = folder / "pytorch_model.bin"
    if bin_file.is_file():
        return torch.load(bin_file, map_location="cpu", weights_only=True)
    raise ModelLoadError(f"Dense layer {folder} has neither model.safetensors nor pytorch_model.bin")


def load_dense_head(model_dir: str, layers: tuple[DenseConfig, ...]) -> nn.Sequential:
    """The Dense layers of a sentence-transformers folder with their weights, as one module applied to pooled
    vectors: (batch, d_model) -> (batch, d_out). Empty (identity) when there are none.

    Raises:
        ModelLoadError: missing weight files, or weights that do not fit the layer's config.
    """
    head = nn.Sequential()
    for cfg in layers:
        layer = Dense(cfg)
        folder = Path(model_dir) / cfg.path
        try:
            layer.load_state_dict(_dense_state_dict(folder), strict=True)
        except RuntimeError as exc:
            raise ModelLoadError(f"weights of Dense layer {folder} do not fit its config: {exc}") from None
        head.append(layer)
    return head.eval()
