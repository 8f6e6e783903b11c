"""Context-window extension methods, one small extender class per method, in a registry keyed by name.

Like transformers' ``ROPE_INIT_FUNCTIONS``, :data:`EXTENDERS` is a literal dict from a method name to its
extender class per position-encoding kind (``pi`` is one extender for APE models and another for RoPE models;
``gp`` and ``pcw`` are one for both); :func:`build_extender` checks that the method fits the model and the
extender validates its parameters.
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
from longembed.extenders.tuned_positions import TunedPositions

EXTENDERS: dict[str, dict[PositionKind | None, type[Extender]]] = {
    "none": {"ape": Truncation, "rope": Truncation, None: Truncation},  # needs no position knowledge
    "pcw": {"ape": ParallelContextWindows, "rope": ParallelContextWindows},
    "gp": {"ape": GroupedPositions, "rope": GroupedPositions},
    "rp": {"ape": RecurrentPositions},
    "pi": {"ape": PositionInterpolation, "rope": RopePositionInterpolation},
    "ntk": {"rope": NtkInterpolation},
    "yarn": {"rope": YarnInterpolation},
    "se": {"rope": SelfExtend},
    "tuned": {"tuned": TunedPositions},
}
"""Extension method name -> position-encoding kind (``ape``, ``rope``, ``None`` = unrecognised) -> its
:class:`Extender` class. The one place that says which method applies to which models; its keys are
:data:`longembed.settings.EXTEND_METHODS`, in that order."""


def methods_for(kind: PositionKind | None) -> list[str]:
    """Names of the methods that apply to a model with position encoding ``kind``."""
    return [name for name, per_kind in EXTENDERS.items() if kind in per_kind]


def extender_class(name: str, kind: PositionKind | None) -> type[Extender]:
    """The extender class of method ``name`` for position encoding ``kind``.

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
    """Instantiate the extender registered as ``name`` for the model's position encoding.

    Raises:
        ExtensionError: unknown method (the message lists the known ones), bad parameters, or a method
            that does not apply to the model's position encoding.
    """
    return extender_class(name, positions.kind)(positions, framing, max_length, params)


__all__ = [
    "EXTENDERS",
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
    "TunedPositions",
    "YarnInterpolation",
    "build_extender",
    "extender_class",
    "find_position_embeddings",
    "grouped_position_ids",
    "interpolate_position_embeddings",
    "methods_for",
    "ntk_lambda",
    "recurrent_position_ids",
    "self_extend_defaults",
    "window_starts",
]
