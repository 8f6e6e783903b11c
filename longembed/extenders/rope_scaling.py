"""RoPE frequency methods: ``pi`` (linear), ``ntk`` (fixed new base) and ``yarn`` (LongEmbed §4.3, Table 6).

They rescale the rotary inverse frequencies θ^(−2j/D) of the model's rotary-embedding module once, in
:meth:`~RopeScaling.prepare_model`. Layers that attend within a sliding window (ModernBERT's local layers,
Gemma3's sliding layers) never see a distance past their window, which is shorter than L_o: their
frequencies are left alone, and each global layer type is rescaled from its own θ (ModernBERT: 160 000 global
vs 10 000 local; Gemma3: 1e6 vs 1e4). With ``short_native`` the model keeps its original frequencies and the
scaled ones are switched in only for a batch of inputs longer than L_o (decided per input, see
:class:`~longembed.extenders.base.Segment`). Transformers' stateful ``dynamic`` rope type is not used.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import nn

from longembed.errors import ExtensionError
from longembed.extenders.base import Extender, Segment, scale_factor

log = logging.getLogger(__name__)

NTK_LAMBDA = {2: 3.0, 4: 5.0, 8: 10.0}
"""λ of NTK-aware interpolation for s = 2, 4, 8 (LongEmbed Table 6)."""

SCALED = "scaled"


@dataclass(frozen=True)
class RotaryTable:
    """One set of inverse frequencies held by a rotary-embedding module.

    Attributes:
        module: the rotary-embedding module.
        layer_type: the key of ``config.rope_parameters`` it belongs to (``"full_attention"``,
            ``"sliding_attention"``), or ``None`` for a model with one set of rope parameters.
    """

    module: nn.Module
    layer_type: str | None

    @property
    def buffer_name(self) -> str:
        return f"{self.layer_type}_inv_freq" if self.layer_type else "inv_freq"

    @property
    def scaling_name(self) -> str:
        return f"{self.layer_type}_attention_scaling" if self.layer_type else "attention_scaling"

    @property
    def is_local(self) -> bool:
        """Whether the table serves sliding-window layers."""
        return bool(self.layer_type) and "sliding" in self.layer_type

    def get(self) -> tuple[torch.Tensor, float]:
        """(inverse frequencies, shape (D/2,); cos/sin factor)."""
        return getattr(self.module, self.buffer_name).clone(), float(getattr(self.module, self.scaling_name, 1.0))

    def set(self, inv_freq: torch.Tensor, scaling: float) -> None:
        buffer = getattr(self.module, self.buffer_name)
        buffer.copy_(inv_freq.to(device=buffer.device, dtype=buffer.dtype))
        setattr(self.module, self.scaling_name, scaling)


def rotary_tables(model: nn.Module) -> list[RotaryTable]:
    """Every set of rotary inverse frequencies in ``model`` (buffers ``inv_freq`` or ``<layer type>_inv_freq``)."""
    tables = []
    for module in model.modules():
        for name, _ in module.named_buffers(recurse=False):
            if name == "inv_freq":
                tables.append(RotaryTable(module, None))
            elif name.endswith("_inv_freq") and not name.endswith("original_inv_freq"):
                tables.append(RotaryTable(module, name[: -len("_inv_freq")]))
    return tables


def global_rotary_tables(model: nn.Module) -> list[RotaryTable]:
    """The rotary tables of layers that attend globally.

    Raises:
        ExtensionError: the model has no rotary inverse frequencies we can find.
    """
    tables = [t for t in rotary_tables(model) if not t.is_local]
    if not tables:
        raise ExtensionError("found no rotary embedding (inv_freq buffer) in this model; cannot rescale RoPE")
    return tables


def rope_parameters(config: Any, layer_type: str | None) -> dict[str, Any]:
    """The rope parameters of ``layer_type`` (or of the whole model), e.g. ``{"rope_type": "default", "rope_theta": 1e4}``."""
    params = getattr(config, "rope_parameters", None) or {}
    if layer_type and isinstance(params.get(layer_type), dict):
        params = params[layer_type]
    params = dict(params)
    if "rope_theta" not in params and getattr(config, "rope_theta", None) is not None:
        params["rope_theta"] = config.rope_theta
    return params


def default_inv_freq(theta: float, dims: int) -> torch.Tensor:
    """θ^(−2j/D) for j = 0 … D/2 − 1, float32, as transformers computes it (shape (D/2,))."""
    return 1.0 / (theta ** (torch.arange(0, dims, 2, dtype=torch.int64).to(torch.float) / dims))


def transformers_inv_freq(config: Any, layer_type: str | None, params: dict[str, Any]) -> tuple[torch.Tensor, float]:
    """Inverse frequencies and cos/sin factor from transformers' ``ROPE_INIT_FUNCTIONS[params["rope_type"]]``,
    computed on a copy of ``config`` whose rope parameters for ``layer_type`` are replaced by ``params``."""
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    config = copy.deepcopy(config)
    if layer_type:
        config.rope_parameters = {**config.rope_parameters, layer_type: params}
    else:
        config.rope_parameters = params
    inv_freq, scaling = ROPE_INIT_FUNCTIONS[params["rope_type"]](config, None, layer_type=layer_type)
    return inv_freq, float(scaling)


class RopeScaling(Extender):
    """Shared part of the RoPE frequency methods: scaling factor s, rescaling the global tables, short_native.

    Subclasses implement :meth:`scaled` for one table.
    """

    param_types: ClassVar[dict[str, type]] = {"factor": float, "short_native": bool}
    param_defaults: ClassVar[dict[str, Any]] = {"factor": None, "short_native": False}
    param_ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {"factor": (1.0, None)}

    @property
    def s(self) -> float:
        """Scaling factor s: the ``factor`` parameter, else ⌈L_t / L_o⌉ (1 when max_length ≤ L_o)."""
        if self.params["factor"] is not None:
            return float(self.params["factor"])
        return float(scale_factor(self.max_length, self.L_o))

    @property
    def changes_nothing(self) -> bool:
        """Whether the method leaves the frequencies as they are (s = 1)."""
        return self.s == 1

    def effective_params(self) -> dict[str, Any]:
        return {**self.params, "factor": self.s}

    def scaled(self, config: Any, table: RotaryTable) -> tuple[torch.Tensor, float]:
        """The rescaled (inverse frequencies, cos/sin factor) of ``table``."""
        raise NotImplementedError

    def prepare_model(self, model: nn.Module) -> None:
        super().prepare_model(model)
        self._swaps: list[tuple[RotaryTable, tuple[torch.Tensor, float], tuple[torch.Tensor, float]]] = []
        if self.changes_nothing:
            return
        for table in global_rotary_tables(model):
            original = table.get()
            new_freq, new_scaling = self.scaled(model.config, table)
            if new_freq.shape != original[0].shape:
                raise ExtensionError(
                    f"{self.name}: transformers computes {new_freq.shape[0]} rotary frequencies for this model but "
                    f"its rotary embedding holds {original[0].shape[0]}; cannot rescale it"
                )
            new_freq = new_freq.to(device=original[0].device)  # switched in per batch: no copy from the host then
            self._swaps.append((table, original, (new_freq, new_scaling)))
            if not self.params["short_native"]:
                table.set(new_freq, new_scaling)

    def segments(self, content_ids: list[int]) -> list[Segment]:
        (segment,) = super().segments(content_ids)
        if self.params["short_native"] and len(segment.input_ids) > self.L_o and not self.changes_nothing:
            return [Segment(segment.input_ids, segment.position_ids, SCALED)]
        return [segment]

    @contextlib.contextmanager
    def forward_context(self, segments: list[Segment]) -> Iterator[None]:
        with super().forward_context(segments):
            if not (segments and segments[0].variant == SCALED):
                yield
                return
            for table, _, scaled in self._swaps:
                table.set(*scaled)
            try:
                yield
            finally:
                for table, original, _ in self._swaps:
                    table.set(*original)


class RopePositionInterpolation(RopeScaling):
    """Linear position interpolation for RoPE: position m → m / s (Chen et al. 2023; LongEmbed §4.3),
    through transformers' ``linear`` rope type (inverse frequencies divided by s)."""

    name = "pi"
    summary = "RoPE linear interpolation: positions m -> m/s (transformers rope_type linear)"

    def scaled(self, config: Any, table: RotaryTable) -> tuple[torch.Tensor, float]:
        params = rope_parameters(config, table.layer_type)
        return transformers_inv_freq(config, table.layer_type, {**params, "rope_type": "linear", "factor": self.s})


def ntk_lambda(s: float) -> float:
    """Default λ for scaling factor s: LongEmbed Table 6 (3, 5, 10 for s = 2, 4, 8), taking the value of the
    smallest tabulated s' ≥ s; 1 for s ≤ 1.

    Raises:
        ExtensionError: s > 8 (no tabulated value; give ``lambda``).
    """
    if s <= 1:
        return 1.0
    for tabulated in sorted(NTK_LAMBDA):
        if s <= tabulated:
            return NTK_LAMBDA[tabulated]
    raise ExtensionError(
        f"ntk: no default lambda for scaling factor s = {s:g} > 8 (LongEmbed Table 6 covers s = 2, 4, 8); "
        "give one with --extend-param lambda=VALUE"
    )


class NtkInterpolation(RopeScaling):
    """NTK-aware interpolation with a fixed new base θ' = θ·λ (LongEmbed §4.3, Table 6).

    Inverse frequencies become (θλ)^(−2j/D) for every global layer type, each from its own θ. λ defaults to
    :func:`ntk_lambda` of s. Unlike transformers' ``dynamic`` type, nothing depends on earlier inputs.
    """

    name = "ntk"
    param_types: ClassVar[dict[str, type]] = {**RopeScaling.param_types, "lambda": float}
    param_defaults: ClassVar[dict[str, Any]] = {**RopeScaling.param_defaults, "lambda": None}
    param_ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        **RopeScaling.param_ranges,
        "lambda": (1.0, None),
    }
    summary = "NTK-aware interpolation: rope theta -> theta * lambda (lambda 3/5/10 for s = 2/4/8)"

    @property
    def changes_nothing(self) -> bool:
        return self.lam == 1

    def effective_params(self) -> dict[str, Any]:
        return {**super().effective_params(), "lambda": self.lam}

    @property
    def lam(self) -> float:
        """λ: the ``lambda`` parameter, else the Table 6 value for s."""
        return float(self.params["lambda"]) if self.params["lambda"] is not None else ntk_lambda(self.s)

    def scaled(self, config: Any, table: RotaryTable) -> tuple[torch.Tensor, float]:
        original, scaling = table.get()
        theta = rope_parameters(config, table.layer_type).get("rope_theta")
        dims = 2 * original.shape[0]
        # compared on the buffer's device; a meta tensor (shapes only) holds no values to compare
        if theta is None or not (
            original.is_meta
            or torch.allclose(default_inv_freq(theta, dims).to(original.device), original.float(), rtol=1e-4)
        ):
            raise ExtensionError(
                f"ntk: the rotary frequencies of {table.layer_type or 'this model'} are not theta^(-2j/d) "
                f"for a known rope theta; ntk cannot rescale them"
            )
        return default_inv_freq(theta * self.lam, dims), scaling


class YarnInterpolation(RopeScaling):
    """YaRN (Peng et al. 2023; beyond the paper's methods) through transformers' ``yarn`` rope type, with
    original_max_position_embeddings = L_o; includes YaRN's cos/sin factor 0.1·ln s + 1."""

    name = "yarn"
    param_types: ClassVar[dict[str, type]] = {**RopeScaling.param_types, "beta_fast": float, "beta_slow": float}
    param_defaults: ClassVar[dict[str, Any]] = {**RopeScaling.param_defaults, "beta_fast": 32.0, "beta_slow": 1.0}
    param_ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {
        **RopeScaling.param_ranges,
        "beta_fast": (0.0, None),
        "beta_slow": (0.0, None),
    }
    summary = "YaRN: transformers rope_type yarn with factor s, original_max_position_embeddings = L_o"

    def scaled(self, config: Any, table: RotaryTable) -> tuple[torch.Tensor, float]:
        params = rope_parameters(config, table.layer_type)
        return transformers_inv_freq(
            config,
            table.layer_type,
            {
                "rope_theta": params["rope_theta"],
                "rope_type": "yarn",
                "factor": self.s,
                "original_max_position_embeddings": self.L_o,
                "beta_fast": self.params["beta_fast"],
                "beta_slow": self.params["beta_slow"],
            },
        )
