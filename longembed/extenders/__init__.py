"""Context-window extension methods, one small strategy per method, in a registry keyed by name.

Like transformers' ``ROPE_INIT_FUNCTIONS``: :data:`EXTENDERS` maps a method name to its strategy class per
position-encoding kind (``pi`` is one strategy for APE models and another for RoPE models; ``gp`` and ``pcw``
are one strategy for both); :func:`build_extender` validates the parameters and that the method fits the model.
"""

from __future__ import annotations

from typing import Any

from longembed.errors import ExtensionError
from longembed.extenders.base import Extender, Framing, ModelPositions, PositionKind, Segment
from longembed.extenders.grouped_positions import GroupedPositions, grouped_position_ids
from longembed.extenders.parallel_windows import ParallelContextWindows, window_starts
from longembed.extenders.position_interpolation import (
    PositionInterpolation,
    find_position_embeddings,
    interpolate_position_embeddings,
)
from longembed.extenders.recurrent_positions import RecurrentPositions, recurrent_position_ids
from longembed.extenders.rope_scaling import (
    NtkInterpolation,
    RopePositionInterpolation,
    YarnInterpolation,
    ntk_lambda,
)
from longembed.extenders.self_extend import SelfExtend, self_extend_defaults
from longembed.extenders.truncation import Truncation

STRATEGIES: tuple[type[Extender], ...] = (
    Truncation,
    ParallelContextWindows,
    GroupedPositions,
    RecurrentPositions,
    PositionInterpolation,
    RopePositionInterpolation,
    NtkInterpolation,
    YarnInterpolation,
    SelfExtend,
)

EXTENDERS: dict[str, dict[PositionKind | None, type[Extender]]] = {}
"""method name -> position-encoding kind (``ape``, ``rope``, ``None``) -> strategy class."""
for _cls in STRATEGIES:
    for _kind in _cls.applies_to:
        EXTENDERS.setdefault(_cls.name, {})[_kind] = _cls  # type: ignore[index]


def methods_for(kind: PositionKind | None) -> list[str]:
    """Names of the methods that apply to a model with position encoding ``kind``."""
    return [name for name, per_kind in EXTENDERS.items() if kind in per_kind]


def strategy_for(name: str, kind: PositionKind | None) -> type[Extender]:
    """The strategy class of method ``name`` for position encoding ``kind``.

    Raises:
        ExtensionError: unknown method (lists the known ones) or one that does not apply to ``kind``
            (lists the methods that do).
    """
    try:
        per_kind = EXTENDERS[name]
    except KeyError:
        raise ExtensionError(
            f"unknown extension method {name!r}; known methods: {', '.join(EXTENDERS)}"
        ) from None
    if kind not in per_kind:
        raise ExtensionError(
            f"extension method {name!r} does not apply to a model with {kind or 'unrecognised'} position "
            f"encoding; methods that do: {', '.join(methods_for(kind))}"
        )
    return per_kind[kind]


def build_extender(
    name: str,
    positions: ModelPositions,
    framing: Framing,
    max_length: int,
    params: dict[str, Any] | None = None,
) -> Extender:
    """Instantiate the strategy registered as ``name``.

    Raises:
        ExtensionError: unknown method (the message lists the known ones), bad parameters, or a method
            that does not apply to the model's position encoding.
    """
    return strategy_for(name, positions.kind)(positions, framing, max_length, params)


__all__ = [
    "EXTENDERS",
    "STRATEGIES",
    "Extender",
    "Framing",
    "GroupedPositions",
    "ModelPositions",
    "NtkInterpolation",
    "ParallelContextWindows",
    "PositionInterpolation",
    "PositionKind",
    "RecurrentPositions",
    "RopePositionInterpolation",
    "Segment",
    "SelfExtend",
    "Truncation",
    "YarnInterpolation",
    "build_extender",
    "find_position_embeddings",
    "grouped_position_ids",
    "interpolate_position_embeddings",
    "methods_for",
    "ntk_lambda",
    "recurrent_position_ids",
    "self_extend_defaults",
    "strategy_for",
    "window_starts",
]
