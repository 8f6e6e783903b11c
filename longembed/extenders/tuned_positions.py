"""``tuned``: an APE model whose new position embeddings were trained by ``longembed tune`` (LongEmbed §4.2).

The folder holds a position-embedding table of L_t rows in one of two layouts (:data:`TunedLayout`):

- ``pi``: the L_o original rows sit at position ids 0, s, 2s, … (s = L_t / L_o) and the rows between them were
  learned (starting from linear interpolation). Inputs of at most L_o tokens use ids 0, s, 2s, … and so get
  exactly the original model's embedding; longer inputs use 0, 1, …, L − 1 — as ``pi`` does with an
  interpolated table.
- ``rp``: the original rows keep ids 0 … L_o − 1 and rows L_o … L_t − 1 were learned (starting from the
  recurrent copy row p mod L_o); every input uses 0, 1, …, L − 1, like a plain BERT with L_t positions.

Attention scaling (``attn_scale``, LongEmbed Appendix B) is on by default, as in the paper's tuned models.
"""

from __future__ import annotations

from typing import Any, ClassVar

from longembed.errors import ExtensionError
from longembed.extenders.base import Extender


class TunedPositions(Extender):
    """Position ids for a tuned table; the model is used as loaded (its table already has L_t rows).

    Raises:
        ExtensionError: ``max_length`` is longer than the tuned table, or the positions say no layout.
    """

    name = "tuned"
    summary = "APE with trained new position embeddings (longembed tune): original rows frozen, new rows learned"
    param_defaults: ClassVar[dict[str, Any]] = {"attn_scale": True}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table, layout = self.positions.table_length, self.positions.tuned_layout
        if table is None or layout not in ("pi", "rp"):
            raise ExtensionError("extension method 'tuned' needs a model folder written by `longembed tune`")
        if self.max_length > table:
            raise ExtensionError(
                f"the tuned model has position embeddings for {table} tokens; use --max-length {table} or less"
            )

    @property
    def s(self) -> int:
        """Scaling factor s = table rows / L_o of the ``pi`` layout (1 for ``rp``)."""
        assert self.positions.table_length is not None
        return self.positions.table_length // self.L_o if self.positions.tuned_layout == "pi" else 1

    def relative_position_ids(self, length: int) -> list[int]:
        if self.positions.tuned_layout == "pi" and length <= self.L_o:
            return [p * self.s for p in range(length)]
        return list(range(length))
