"""``se``: SelfExtend for RoPE models, bidirectional (LongEmbed §4.3, after Jin et al. 2024).

Keys within the neighbour window w of a query keep their relative position; farther keys are seen through
grouped positions (group size g), shifted so the two regimes join. The attention change lives in
:func:`longembed.extenders.attention.self_extend_attention`; this extender sets its parameters and switches it
on for inputs longer than L_o only, so shorter inputs get exactly the original model's embedding.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any, ClassVar

from torch import nn

from longembed.extenders.attention import SelfExtendSpec, install
from longembed.extenders.base import Extender, Segment, scale_factor
from longembed.extenders.rope_scaling import global_rotary_tables

log = logging.getLogger(__name__)

SELF_EXTEND = "self_extend"


def self_extend_defaults(s: int, original_length: int) -> tuple[int, int]:
    """(w, g) for scaling factor s: g = s + 1, w = L_o / s — LongEmbed Table 6 (g = 3/5/9, w = 256/128/64
    for s = 2/4/8 on a 512-token model), with w scaled to the model's L_o.

    >>> self_extend_defaults(4, 512)
    (128, 5)
    """
    s = max(1, s)
    return max(1, original_length // s), s + 1


def self_extend_max_position(length: int, window: int, group: int) -> int:
    """The largest relative distance SelfExtend produces in an input of ``length`` tokens."""
    if length - 1 < window:
        return length - 1
    return (length - 1) // group + window - window // group


class SelfExtend(Extender):
    """Bidirectional SelfExtend on the global-attention layers (sliding-window layers are unchanged).

    Parameters ``w`` (neighbour window, tokens) and ``g`` (group size) default to
    :func:`self_extend_defaults` of s = ⌈L_t / L_o⌉.
    """

    name = "se"
    param_types: ClassVar[dict[str, type]] = {"w": int, "g": int}
    param_defaults: ClassVar[dict[str, Any]] = {"w": None, "g": None}
    param_ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {"w": (1, None), "g": (1, None)}
    summary = "SelfExtend: neighbour window w keeps exact positions, farther keys grouped by g"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        window, group = self_extend_defaults(scale_factor(self.max_length, self.L_o), self.L_o)
        self.window = self.params["w"] if self.params["w"] is not None else window
        self.group = self.params["g"] if self.params["g"] is not None else group
        self.params.update(w=self.window, g=self.group)
        reach = self_extend_max_position(self.max_length, self.window, self.group)
        if reach >= self.L_o:
            log.warning(
                "se: with w=%d, g=%d an input of %d tokens reaches relative position %d, past the model's %d",
                self.window,
                self.group,
                self.max_length,
                reach,
                self.L_o,
            )

    def prepare_model(self, model: nn.Module) -> None:
        super().prepare_model(model)
        inv_freq, _ = global_rotary_tables(model)[0].get()
        self.attention = install(model)
        self.attention.self_extend = SelfExtendSpec(self.window, self.group, inv_freq)

    def segments(self, content_ids: list[int]) -> list[Segment]:
        (segment,) = super().segments(content_ids)
        if len(segment.input_ids) > self.L_o:
            return [Segment(segment.input_ids, segment.position_ids, SELF_EXTEND)]
        return [segment]

    @contextlib.contextmanager
    def forward_context(self, segments: list[Segment]) -> Iterator[None]:
        with super().forward_context(segments):
            if not (segments and segments[0].variant == SELF_EXTEND):
                yield
                return
            self.attention.self_extend_on = True
            try:
                yield
            finally:
                self.attention.self_extend_on = False
