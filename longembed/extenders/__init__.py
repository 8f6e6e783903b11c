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

from longembed.lazy import by_name, lazy_exports

_EXPORTS = by_name({
    "longembed.extenders.base": ("Extender", "Framing", "ModelPositions", "PositionKind", "Segment"),
    "longembed.extenders.lookup": ("EXTENDERS", "build_extender", "extender_class", "methods_for"),
    "longembed.extenders.grouped_positions": ("GroupedPositions", "grouped_position_ids"),
    "longembed.extenders.parallel_windows": ("ParallelContextWindows", "window_starts"),
    "longembed.extenders.position_interpolation": (
        "PositionInterpolation", "find_position_embeddings", "interpolate_position_embeddings",
    ),
    "longembed.extenders.recurrent_positions": ("RecurrentPositions", "recurrent_position_ids"),
    "longembed.extenders.rope_scaling": (
        "NtkInterpolation", "RopePositionInterpolation", "YarnInterpolation", "ntk_lambda",
    ),
    "longembed.extenders.self_extend": ("SelfExtend", "self_extend_defaults"),
    "longembed.extenders.truncation": ("Truncation",),
    "longembed.extenders.tuned_positions": ("TunedPositions",),
})
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
