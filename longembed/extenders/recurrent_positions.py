"""``rp``: Recurrent Positions (LongEmbed §4.2)."""

from __future__ import annotations

from longembed.extenders.base import Extender


def recurrent_position_ids(length: int, original_length: int) -> list[int]:
    """pid -> pid mod L_o: positions restart at 0 every L_o tokens.

    >>> recurrent_position_ids(10, 4)
    [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]
    """
    return [p % original_length for p in range(length)]


class RecurrentPositions(Extender):
    """Reuse the original L_o position embeddings cyclically."""

    name = "rp"
    summary = "recurrent positions: pid -> pid mod L_o"

    def relative_position_ids(self, length: int) -> list[int]:
        return recurrent_position_ids(length, self.L_o)
