"""Context-window extension methods, one small extender class per method, registered by name in
:mod:`longembed.extenders.registry`.

Like transformers' ``ROPE_INIT_FUNCTIONS``, :data:`EXTENDERS` maps a method name to its extender class per
position-encoding kind (``pi`` is one extender for APE models and another for RoPE models; ``gp`` and ``pcw`` are
one for both); :func:`build_extender` checks that the method fits the model and the extender validates its
parameters. Adding a method is its module and its entry in the registry.

Names load on first use (PEP 562), so that the registry (and :mod:`longembed.settings`, which reads the method names
from it) is imported without torch.
"""

from __future__ import annotations

from longembed.lazy import lazy_exports

_EXPORTS = {
    **dict.fromkeys(("Extender", "Framing", "ModelPositions", "PositionKind", "Segment"), "longembed.extenders.base"),
    **dict.fromkeys(("EXTENDERS", "build_extender", "extender_class", "methods_for"), "longembed.extenders.lookup"),
    "GroupedPositions": "longembed.extenders.grouped_positions",
    "grouped_position_ids": "longembed.extenders.grouped_positions",
    "ParallelContextWindows": "longembed.extenders.parallel_windows",
    "window_starts": "longembed.extenders.parallel_windows",
    "PositionInterpolation": "longembed.extenders.position_interpolation",
    "find_position_embeddings": "longembed.extenders.position_interpolation",
    "interpolate_position_embeddings": "longembed.extenders.position_interpolation",
    "RecurrentPositions": "longembed.extenders.recurrent_positions",
    "recurrent_position_ids": "longembed.extenders.recurrent_positions",
    **dict.fromkeys(
        ("NtkInterpolation", "RopePositionInterpolation", "YarnInterpolation", "ntk_lambda"),
        "longembed.extenders.rope_scaling",
    ),
    "SelfExtend": "longembed.extenders.self_extend",
    "self_extend_defaults": "longembed.extenders.self_extend",
    "Truncation": "longembed.extenders.truncation",
    "TunedPositions": "longembed.extenders.tuned_positions",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
