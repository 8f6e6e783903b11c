"""Which model inputs each passage vector is pooled from, for ``late`` and ``window-late`` passages (pure
planning over token ids; the pooling itself is :func:`longembed.encoding.pooling.span_means`).

- ``late``: late chunking (Günther et al. 2024, "Late Chunking: Contextual Chunk Embeddings Using Long-Context
  Embedding Models", arXiv 2409.04701): the mean of the token states of the whole-document forward pass (the one
  that makes the ``doc`` vector, so no extra forward for documents up to ``max_length``) over the passage's
  tokens. The passage tokens are mean-pooled whatever the model's pooling (a ``cls`` or ``lasttoken`` state
  summarises the whole input, not a span; late chunking is defined for mean pooling).
- ``window-late``: the same over windows of L_o tokens (the model's own positions: every extender feeds inputs
  of at most L_o tokens exactly as the original model), so each passage sees up to L_o tokens of context.
- ``naive`` passages (each encoded alone) need no plan: :meth:`longembed.encoding.prepare.Preparer.prepare`
  prepares them as short documents.

Long late chunking (jina-ai/late-chunking, ``long_late_chunking`` in its ``chunked_pooling``; paper §3.1): a
document longer than the content limit L_t is covered by overlapping macro windows of L_t tokens, overlap
L_t / 8 (:data:`MACRO_OVERLAP`); the first is the document's own forward pass, and each passage is pooled from
the window where it has the most context on both sides (the largest min(tokens before, tokens after) among the
windows that hold it whole). The ``doc`` vector keeps its meaning: the first L_t tokens (``truncated`` says so).
Passages cover at most :data:`MAX_PASSAGE_TOKENS` tokens of a document.
"""

from __future__ import annotations

from longembed.encoding.spans import Passage
from longembed.extenders import Extender, Segment

MACRO_OVERLAP = 8
"""Macro windows overlap by 1/8 of their length (jina-ai/late-chunking uses a fixed overlap; 1/8 keeps a 128-token
passage whole in some window down to L_t = 1024)."""
MAX_PASSAGE_TOKENS = 65536
"""Tokens of a document that get passages (16 macro windows at L_t = 4096); the rest of a longer text has none."""

PassageRef = tuple[int, int, int]
"""``(segment, start, end)``: the passage vector is the mean of that segment's token states ``[start, end)``
(positions in its ``input_ids``); ``start`` < 0: the segment pooled like a text (naive passages)."""


def windows(total: int, size: int, overlap: int) -> list[tuple[int, int]]:
    """Content ranges ``[begin, end)`` of overlapping windows of ``size`` tokens covering ``total`` tokens; the last
    one ends at ``total``.

    >>> windows(10, 4, 1)
    [(0, 4), (3, 7), (6, 10)]
    """
    step = max(1, size - overlap)
    out = [(0, min(size, total))]
    while out[-1][1] < total:
        begin = out[-1][0] + step
        out.append((begin, min(begin + size, total)))
    return out


def _segment_ranges(segments: list[Segment], first: int, n_special: int) -> list[tuple[int, int]]:
    """Content ranges of consecutive segments (each wraps the next slice of content tokens)."""
    out, begin = [], first
    for seg in segments:
        end = begin + len(seg.input_ids) - n_special
        out.append((begin, end))
        begin = end
    return out


def _best_window(begin: int, end: int, ranges: list[tuple[int, int]]) -> int:
    """The window holding ``[begin, end)`` whole with the most context on both sides; when none holds it whole,
    the one that holds most of it."""
    best, best_key = 0, None
    for i, (c0, c1) in enumerate(ranges):
        whole = c0 <= begin and end <= c1
        key = (whole, min(begin - c0, c1 - end) if whole else min(end, c1) - max(begin, c0))
        if best_key is None or key > best_key:
            best, best_key = i, key
    return best


def plan_late_passages(
    mode: str, extender: Extender, ids: list[int], n_prefix: int, plan: list[Segment], passages: list[Passage]
) -> tuple[list[Segment], list[PassageRef]]:
    """The extra model inputs and the span of each passage of one document, for ``late`` or ``window-late``.

    Args:
        mode: ``late`` (the document's own forward pass ``plan``, then macro windows of L_t tokens) or
            ``window-late`` (windows of L_o tokens, none of ``plan``).
        ids: the document's content token ids with its prefix (``n_prefix`` of them), untruncated.
        plan: the document's own model inputs (its first L_t content tokens, split by the extender).
        passages: its passages (token offsets relative to the text, after the prefix).

    Returns:
        the model inputs to run besides ``plan`` (only their token states serve, never the ``doc`` vector), and
        one :data:`PassageRef` per passage whose ``segment`` indexes ``plan`` followed by those inputs.
    """
    framing, limit = extender.framing, extender.content_limit
    total = n_prefix + (passages[-1].token_end if passages else 0)
    extra: list[Segment] = []
    ranges: list[tuple[int, int]] = []
    if mode == "late":
        ranges = _segment_ranges(plan, 0, framing.n_special)
        macro = windows(total, limit, limit // MACRO_OVERLAP)[1:]
    else:  # window-late: L_o-token windows only, the model's own positions
        size = min(extender.positions.original_length - framing.n_special, limit)
        macro = windows(total, size, size // MACRO_OVERLAP)
    for begin, end in macro:
        segments = extender.segments(ids[begin:end])
        extra += segments
        ranges += _segment_ranges(segments, begin, framing.n_special)
    refs = []
    for p in passages:
        begin, end = n_prefix + p.token_start, n_prefix + p.token_end
        w = _best_window(begin, end, ranges)
        c0, c1 = ranges[w]
        begin, end = max(begin, c0), max(min(end, c1), max(begin, c0) + 1)
        seg = w if mode == "late" else len(plan) + w
        refs.append((seg, len(framing.prefix) + begin - c0, len(framing.prefix) + end - c0))
    return extra, refs
