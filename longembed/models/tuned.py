"""Model folders with tuned position embeddings (``longembed tune``, LongEmbed §4.2): layout, record, writing.

A tuned folder is a sentence-transformers folder of the base model whose position-embedding table has L_t rows
(``config.max_position_embeddings`` = offset + L_t, tokenizer ``model_max_length`` = L_t) plus
:data:`TUNING_FILE`, a JSON record of the layout, L_o, s, L_t, the training data and steps. The record is what
makes longembed choose the ``tuned`` method (:mod:`longembed.extenders.tuned_positions`) for the folder.

Shipped tuned models (:data:`~longembed.models.bundled.SHIPPED_TUNED`) carry only their learned rows (package data); the folder is assembled
once from the bundled base model into ``$LONGEMBED_CACHE`` (default ``~/.cache/longembed``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

import torch
from torch import nn

from longembed.errors import ModelLoadError
from longembed.extenders.base import ModelPositions
from longembed.extenders.position_interpolation import (
    find_position_embeddings,
    interpolate_position_embeddings,
    replace_position_table,
)
from longembed.models.bundled import DEFAULT_MODEL_ALIASES, SHIPPED_TUNED, TUNING_FILE, bundled_model_path
from longembed.models.sentence_transformers_folder import read_sentence_transformers_config

TunedLayout = Literal["pi", "rp"]
TUNED_LAYOUTS: tuple[str, ...] = get_args(TunedLayout)
WEIGHT_FILES = ("*.safetensors", "*.bin", "*.pt", "*.h5", "*.msgpack", "*.onnx", "onnx", "openvino")
DATA_DIR = Path(__file__).with_name("data")


@dataclass(frozen=True)
class TuningRecord:
    """What :data:`TUNING_FILE` says about a tuned folder.

    Attributes:
        layout: ``pi`` (originals at ids 0, s, 2s, …) or ``rp`` (originals at 0 … L_o − 1).
        original_length: L_o of the base model (tokens).
        max_length: L_t, rows of the tuned table (tokens, the position offset excluded).
        scale_factor: s = L_t / L_o for ``pi``; 1 for ``rp``.
        base_model: the model that was tuned.
        training: data, steps, batch size, learning rate, seed, device, wall time, loss curve.
    """

    layout: TunedLayout
    original_length: int
    max_length: int
    scale_factor: int
    base_model: str
    training: dict[str, Any] = field(default_factory=dict)


def read_tuning(model_path: str) -> TuningRecord | None:
    """The tuning record of a local model folder, ``None`` for any other model.

    Raises:
        ModelLoadError: the record exists but is unreadable or names an unknown layout.
    """
    path = Path(model_path) / TUNING_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        record = TuningRecord(**{k: data[k] for k in TuningRecord.__dataclass_fields__ if k in data})
    except (OSError, ValueError, TypeError) as exc:
        raise ModelLoadError(f"{path} is unreadable: {exc}") from None
    if record.layout not in TUNED_LAYOUTS:
        raise ModelLoadError(f"{path}: unknown layout {record.layout!r}; known: {', '.join(TUNED_LAYOUTS)}")
    return record


def tuned_positions(positions: ModelPositions, record: TuningRecord) -> ModelPositions:
    """The positions of a loaded tuned model: kind ``tuned``, the base model's L_o, the table's L_t and layout."""
    return replace(
        positions,
        kind="tuned",
        original_length=record.original_length,
        table_length=record.max_length,
        tuned_layout=record.layout,
    )


def initial_table(original: torch.Tensor, max_length: int, layout: TunedLayout) -> tuple[torch.Tensor, torch.Tensor]:
    """The tuned table before training and the ids of its rows that learn.

    Args:
        original: E_o, the base model's position embeddings, shape (L_o, d) (offset rows excluded).
        max_length: L_t in tokens; for ``pi`` a multiple of L_o.
        layout: ``pi``: E_t = E_o linearly interpolated to L_t rows, E_t[i·s] = E_o[i] frozen, the other rows
            learn (LongEmbed §4.2 "PI" initialisation); ``rp``: E_t[p] = E_o[p mod L_o], rows L_o … L_t − 1 learn.

    Returns:
        (E_t of shape (L_t, d), trainable row ids of shape (L_t − L_o,), int64).

    Raises:
        ValueError: L_t ≤ L_o, or L_t not a multiple of L_o for ``pi``.
    """
    n_original = original.shape[0]
    if max_length <= n_original:
        raise ValueError(f"max length {max_length} must be longer than the model's {n_original} positions")
    ids = torch.arange(max_length, device=original.device)
    if layout == "pi":
        if max_length % n_original:
            raise ValueError(f"with --init pi, max length must be a multiple of {n_original}, got {max_length}")
        table = interpolate_position_embeddings(original, max_length // n_original)
        return table.clone(), ids[ids % (max_length // n_original) != 0]
    return original[ids % n_original].clone(), ids[n_original:]


def write_tuned_folder(base_path: str, out: Path, model: nn.Module, weight: torch.Tensor, record: TuningRecord) -> None:
    """Write a tuned sentence-transformers folder: the base folder's files, ``model`` with ``weight`` as its
    position-embedding table (shape (offset + L_t, d): the position-offset rows, then the tuned table), the new
    lengths in the configs, and :data:`TUNING_FILE`.

    ``model`` is the loaded base transformer (it is changed: its table is replaced).
    """
    st = read_sentence_transformers_config(base_path)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(base_path, out, ignore=shutil.ignore_patterns(*WEIGHT_FILES), dirs_exist_ok=True)
    embeddings, old = _position_table(model)
    weight = weight.detach().to(torch.float32).cpu()
    new = nn.Embedding(weight.shape[0], weight.shape[1], padding_idx=old.padding_idx)
    new.weight = nn.Parameter(weight, requires_grad=False)
    replace_position_table(model, embeddings, new, weight.shape[0])
    transformer_dir = out / st.transformer_path if st.transformer_path else out
    model.to("cpu").save_pretrained(str(transformer_dir), safe_serialization=True)
    for name, key in (("tokenizer_config.json", "model_max_length"), ("sentence_bert_config.json", "max_seq_length")):
        path = transformer_dir / name
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            data[key] = record.max_length
            path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (out / TUNING_FILE).write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")


def cache_dir() -> Path:
    """Where shipped tuned models are assembled: ``$LONGEMBED_CACHE/models`` (default ``~/.cache/longembed``)."""
    return Path(os.environ.get("LONGEMBED_CACHE") or Path.home() / ".cache" / "longembed") / "models"


def assemble_shipped(name: str) -> str:
    """The folder of shipped tuned model ``name``, assembled on first use from the bundled base model.

    Raises:
        ModelLoadError: the rows file is missing or the cache directory cannot be written.
    """
    from safetensors import safe_open

    rows_file = DATA_DIR / SHIPPED_TUNED[name]
    if not rows_file.is_file():
        raise ModelLoadError(f"the rows of {name!r} are missing from the package ({rows_file})")
    digest = hashlib.sha256(rows_file.read_bytes()).hexdigest()[:12]
    target = cache_dir() / f"{name}-{digest}"
    if (target / TUNING_FILE).is_file():
        return str(target)
    from transformers import AutoModel

    with safe_open(str(rows_file), framework="pt") as f:
        rows, row_ids = f.get_tensor("rows").float(), f.get_tensor("row_ids").long()
        record = TuningRecord(**json.loads(f.metadata()["record"]))
    if record.base_model not in DEFAULT_MODEL_ALIASES:
        raise ModelLoadError(f"{name!r} was tuned from {record.base_model!r}; shipped models build on the default model")
    base = bundled_model_path()
    model = AutoModel.from_pretrained(base)
    _, old = _position_table(model)
    offset = old.num_embeddings - record.original_length
    table, _ = initial_table(old.weight[offset:].detach(), record.max_length, record.layout)
    table[row_ids] = rows
    weight = torch.cat([old.weight[:offset].detach(), table], dim=0)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as tmp:
            write_tuned_folder(base, Path(tmp) / "model", model, weight, record)
            os.replace(Path(tmp) / "model", target)
    except OSError as exc:
        if (target / TUNING_FILE).is_file():  # another process assembled it meanwhile
            return str(target)
        raise ModelLoadError(f"cannot assemble {name!r} in {target.parent}: {exc.strerror or exc}") from None
    return str(target)


def _position_table(model: Any) -> tuple[Any, Any]:
    found = find_position_embeddings(model)
    if found is None:
        raise ModelLoadError("the model has no learned absolute position embeddings")
    return found
