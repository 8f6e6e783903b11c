"""``gp``: Grouped Positions (LongEmbed §4.2, after SelfExtend's grouped attention)."""

from __future__ import annotations

from longembed.extenders.base import Extender, scale_factor


def grouped_position_ids(length: int, original_length: int) -> list[int]:
    """pid -> ⌊pid / s⌋ with s = ⌈L / L_o⌉ taken from this input's own length L.

    Inputs of at most L_o tokens keep their native positions (s = 1), as in the authors' code.

    >>> grouped_position_ids(10, 4)
    [0, 0, 0, 1, 1, 1, 2, 2, 2, 3]
    """
    s = scale_factor(length, original_length)
    return [p // s for p in range(length)]


class GroupedPositions(Extender):
    """Map position ids of a long input onto the original range by integer division by s.

    The same ids serve APE models (rows of the position-embedding table) and RoPE models (rotary angles).
    """

    name = "gp"
    summary = "grouped positions: pid -> floor(pid / s), s = ceil(L / L_o) per input"

    def relative_position_ids(self, length: int) -> list[int]:
        return grouped_position_ids(length, self.L_o)
