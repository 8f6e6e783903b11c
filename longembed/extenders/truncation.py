"""``none``: no extension; inputs are truncated to the model's original length L_o."""

from __future__ import annotations

from longembed.extenders.base import Extender


class Truncation(Extender):
    """Keep the first L_o tokens of every input (special tokens included) and drop the rest.

    This is the baseline of the LongEmbed paper (Table 3, "original"); documents longer than L_o lose
    their tail, which the ingest step reports.
    """

    name = "none"
    summary = "truncate every input at the model's original length L_o"

    @property
    def content_limit(self) -> int:
        return min(self.max_length, self.L_o) - self.framing.n_special
