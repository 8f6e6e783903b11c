"""Context-window extension methods, one small strategy per method, in a registry keyed by name.

Like transformers' ``ROPE_INIT_FUNCTIONS``: :data:`EXTENDERS` maps a method name to its strategy class;
:func:`build_extender` validates the parameters and that the method fits the model.
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
from longembed.extenders.truncation import Truncation

EXTENDERS: dict[str, type[Extender]] = {
    cls.name: cls
    for cls in (Truncation, ParallelContextWindows, GroupedPositions, RecurrentPositions, PositionInterpolation)
}


def methods_for(kind: PositionKind | None) -> list[str]:
    """Names of the methods that apply to a model with position encoding ``kind``."""
    return [name for name, cls in EXTENDERS.items() if kind in cls.applies_to]


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
    try:
        cls = EXTENDERS[name]
    except KeyError:
        raise ExtensionError(
            f"unknown extension method {name!r}; known methods: {', '.join(EXTENDERS)}"
        ) from None
    return cls(positions, framing, max_length, params)


__all__ = [
    "EXTENDERS",
    "Extender",
    "Framing",
    "GroupedPositions",
    "ModelPositions",
    "ParallelContextWindows",
    "PositionInterpolation",
    "PositionKind",
    "RecurrentPositions",
    "Segment",
    "Truncation",
    "build_extender",
    "find_position_embeddings",
    "grouped_position_ids",
    "interpolate_position_embeddings",
    "methods_for",
    "recurrent_position_ids",
    "window_starts",
]
