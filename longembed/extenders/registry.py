"""The registry of context-window extension methods: each method's name, a few words on it, and the class of its
extender per position-encoding kind, named as text so that reading it imports no torch.

Like transformers' ``MODEL_MAPPING_NAMES``, :data:`METHODS` names classes ("module:Class" inside
:mod:`longembed.extenders`) that :mod:`longembed.extenders.lookup` imports when they are used. It is the one place
a method is registered: :data:`longembed.settings.EXTEND_METHODS` (the choices of ``--extend``, the server's and the
bench's) and :data:`longembed.extenders.EXTENDERS` derive from it, in its order.
"""

from __future__ import annotations

from dataclasses import dataclass

from longembed.extenders.base import PositionKind


@dataclass(frozen=True)
class RegisteredMethod:
    """One extension method.

    Attributes:
        note: a few words for help texts (``--extend``).
        classes: position-encoding kind (``ape``, ``rope``, ``tuned``; ``None`` = unrecognised) -> its extender
            class as ``"module:Class"`` in :mod:`longembed.extenders`; a kind it lacks is one the method does not
            apply to.
    """

    note: str
    classes: dict[PositionKind | None, str]


METHODS: dict[str, RegisteredMethod] = {
    "none": RegisteredMethod(  # needs no position knowledge
        "truncate at the model's length",
        {"ape": "truncation:Truncation", "rope": "truncation:Truncation", None: "truncation:Truncation"},
    ),
    "pcw": RegisteredMethod(
        "parallel context windows",
        {"ape": "parallel_windows:ParallelContextWindows", "rope": "parallel_windows:ParallelContextWindows"},
    ),
    "gp": RegisteredMethod(
        "grouped positions",
        {"ape": "grouped_positions:GroupedPositions", "rope": "grouped_positions:GroupedPositions"},
    ),
    "rp": RegisteredMethod("recurrent positions, APE", {"ape": "recurrent_positions:RecurrentPositions"}),
    "pi": RegisteredMethod(
        "position interpolation",
        {"ape": "position_interpolation:PositionInterpolation", "rope": "rope_scaling:RopePositionInterpolation"},
    ),
    "ntk": RegisteredMethod("NTK-aware base, RoPE", {"rope": "rope_scaling:NtkInterpolation"}),
    "yarn": RegisteredMethod("RoPE", {"rope": "rope_scaling:YarnInterpolation"}),
    "se": RegisteredMethod("SelfExtend, RoPE", {"rope": "self_extend:SelfExtend"}),
    "tuned": RegisteredMethod("a model written by `longembed tune`", {"tuned": "tuned_positions:TunedPositions"}),
}
"""Extension method name -> :class:`RegisteredMethod`: which extender class applies to which models."""
