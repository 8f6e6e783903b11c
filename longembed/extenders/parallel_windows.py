"""``pcw``: Parallel Context Windows (LongEmbed §4.2, after Ratner et al. 2023)."""

from __future__ import annotations

from longembed.extenders.base import Extender, Segment


def window_starts(n_content: int, window: int) -> list[int]:
    """Start offsets of the windows that cover ``n_content`` tokens with windows of ``window`` tokens.

    Windows do not overlap, except the last one, which is moved back so that it holds ``window`` tokens
    (it then overlaps the one before). A text of at most ``window`` tokens is one window.

    >>> window_starts(10, 4)
    [0, 4, 6]
    """
    if n_content <= window:
        return [0]
    starts = list(range(0, n_content - window + 1, window))
    if starts[-1] + window < n_content:
        starts.append(n_content - window)
    return starts


class ParallelContextWindows(Extender):
    """Split the input into windows of L_o tokens, embed each with native positions, average.

    Each window is framed with the model's special tokens, so it holds L_o tokens in all; the document's
    embedding is the mean of the window embeddings, normalised (the encoder does both).
    """

    name = "pcw"
    summary = "embed L_o-token windows separately and average them (parallel context windows)"

    def segments(self, content_ids: list[int]) -> list[Segment]:
        window = self.L_o - self.framing.n_special
        out: list[Segment] = []
        for start in window_starts(len(content_ids), window):
            ids = self.framing.wrap(content_ids[start : start + window])
            out.append(Segment(ids, [self.positions.offset + p for p in range(len(ids))]))
        return out
