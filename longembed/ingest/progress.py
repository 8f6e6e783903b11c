"""The ingest progress bar: documents done, the document tokens embedded (what the summary counts), their rate, and
an ETA from the work still to do.

A batch of documents is encoded in one call (its model inputs grouped into token-budget forward passes), so a bar
updated per batch stands still for the whole first batch (a minute and more for long documents on a CPU).
:class:`IngestProgress` listens to the encoder's forward passes (``Encoder.on_forward``) and moves within a batch.

What it counts:

- **tokens** and **tok/s** are *document tokens*, as :class:`~longembed.ingest.summary.IngestSummary` counts them
  (each document's tokens up to the collection's limit), over the bar's wall time: at the end they equal the
  summary's ``tokens`` and ``tokens / seconds``. Passage inputs run through the model too (``naive`` passages
  embed every sentence again), so model tokens are counted apart (:attr:`IngestProgress.model_tokens`).
- **ETA** comes from model work, not from documents. Each forward pass's seconds are fitted as
  ``a·ΣL + b·ΣL²`` over its inputs' lengths L (linear layers cost per token, attention per pair of tokens;
  least squares over the passes seen, a, b ≥ 0; until passes of different lengths have run, b / a comes from
  the model's FLOPs, :class:`PassCost`), so the long document passes that run first do not set the pace for the
  short passage inputs that follow. The work left is that of the batch being encoded plus, for the
  batches not started, their size in bytes × the ΣL and ΣL² per byte of the batches seen so far. Documents
  differ in length by orders of magnitude, so an ETA by document count is wrong by as much.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any, Self

from tqdm.auto import tqdm

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total_fmt} {unit} [{elapsed}{postfix}]"
"""tqdm's layout with the (fractional) document count shown whole; the remaining time is this module's ETA (in
the postfix), not tqdm's document-count one."""


class IngestProgress:
    """A tqdm bar over ``total`` documents that also counts document tokens and estimates the time left.

    Args:
        total: documents in the run (unchanged and failed ones included; they count when their batch ends).
        enabled: ``False``: no bar and no hook on the encoder (e.g. the server's ingests).
        total_bytes: size of all the run's documents in bytes (files: their size on disk; documents in memory:
            characters), the unit the ETA scales by; 0: no ETA.
        clock: seconds, monotonic (tests pass a fake one).
        **bar_options: passed to :class:`tqdm.tqdm` (e.g. ``file``, ``mininterval`` in tests).
    """

    def __init__(
        self, total: int, enabled: bool = True, total_bytes: int = 0, clock=time.perf_counter, **bar_options: Any
    ) -> None:
        self.enabled = enabled
        self.bar = tqdm(
            total=total, unit="doc", desc="ingest", disable=not enabled, bar_format=BAR_FORMAT, **bar_options
        )
        self.tokens = 0.0
        """Document tokens embedded so far (exact at the end of each batch; within one, its share of the passes)."""
        self.model_tokens = 0
        """Tokens of the model inputs run through the model so far, passages included (padding excluded)."""
        self.forward_passes = 0
        self.done = 0
        self.bytes_left = total_bytes
        """Bytes of the batches not finished (the batch being encoded included)."""
        self.cost = PassCost()
        self._clock = clock
        self._started = clock()
        self._last_pass = 0.0
        self._batch_tokens_start = 0.0  # document tokens shown when the batch being encoded began
        self._batch = _Work()  # the batch being encoded: its model work, document tokens and bytes
        self._batch_ran = _Work()  # that batch's work run so far
        self._planned = _Work()  # every batch that began to encode
        self._share = 0.0  # documents per model token of the batch being encoded

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()

    @contextmanager
    def encoding(
        self, encoder: Any, n_documents: int, prepared: Any, n_bytes: int = 0
    ) -> Iterator[None]:
        """While ``encoder`` embeds ``n_documents`` (``n_bytes`` in all) made ready as ``prepared`` (a
        :class:`~longembed.encoding.prepare.PreparedTexts`), advance the bar on each of its forward passes (its
        ``on_forward`` hook, restored afterwards). Inputs without model plans (an encoder wrapper that defers its
        work, e.g. the benchmark's embedding cache) leave the bar to :meth:`batch_done`."""
        plans = (getattr(prepared, "plans", None) or []) + (getattr(prepared, "extra", None) or [])  # extra: passages
        work = _Work.of([len(segment.input_ids) for plan in plans for segment in plan])
        if not self.enabled or work.tokens <= 0:
            yield
            return
        self._batch = replace(work, bytes=n_bytes, document_tokens=float(_document_tokens(encoder, prepared)))
        self._batch_ran = _Work()
        if not self.forward_passes and self.cost.pair_ratio is None:
            self.cost = PassCost.for_model(getattr(encoder, "model", None))
        self._planned = self._planned + self._batch
        self._share = n_documents / work.tokens
        self._last_pass = self._clock()
        previous = getattr(encoder, "on_forward", None)
        encoder.on_forward = self.forward
        try:
            yield
        finally:
            encoder.on_forward = previous
            self._batch = _Work()

    def forward(self, lengths: list[int]) -> None:
        """One forward pass over inputs of ``lengths`` tokens (called by the encoder)."""
        now = self._clock()
        work = _Work.of(lengths)
        self.cost.add(work.tokens, work.pairs, now - self._last_pass)
        self._last_pass = now
        self.model_tokens += work.tokens
        self._batch_ran = self._batch_ran + work
        self.forward_passes += 1
        if self._batch.tokens:
            ran = min(self._batch_ran.tokens / self._batch.tokens, 1.0)
            self.tokens = self._batch_tokens_start + self._batch.document_tokens * ran
        self._postfix()  # shown by the update's refresh
        self.bar.update(min(work.tokens * self._share, max(self.bar.total - self.bar.n, 0)))

    def batch_done(self, n_documents: int, tokens: int | None = None, n_bytes: int = 0) -> None:
        """A batch of ``n_documents`` (embedded, unchanged or failed; ``n_bytes`` in all) is finished: the bar
        shows every document done and, when given, ``tokens``, the document tokens embedded so far (the
        summary's count)."""
        self.done += n_documents
        self.bytes_left = max(self.bytes_left - n_bytes, 0)
        if tokens is not None:
            self.tokens = float(tokens)
        self._batch_tokens_start = self.tokens
        self._postfix()
        self.bar.update(self.done - self.bar.n)

    def eta(self) -> float | None:
        """Seconds still to go (see the module docstring); ``None`` before the first forward pass, or without
        ``total_bytes``."""
        if not self.forward_passes or not self._planned.bytes:
            return None
        unstarted = max(self.bytes_left - self._batch.bytes, 0) / self._planned.bytes
        tokens = max(self._batch.tokens - self._batch_ran.tokens, 0) + unstarted * self._planned.tokens
        pairs = max(self._batch.pairs - self._batch_ran.pairs, 0) + unstarted * self._planned.pairs
        return self.cost.seconds(tokens, pairs)

    def _postfix(self) -> None:
        elapsed = max(self._clock() - self._started, 1e-9)
        eta = self.eta()
        left = "" if eta is None else f", ETA {tqdm.format_interval(eta)}"
        self.bar.set_postfix_str(f"{self.tokens:.0f} tokens, {self.tokens / elapsed:.0f} tok/s{left}", refresh=False)


def _document_tokens(encoder: Any, prepared: Any) -> int:
    """Document tokens of ``prepared`` as the summary counts them: each text's tokens (special tokens included)
    up to the encoder's ``token_limit``."""
    limit = getattr(encoder, "token_limit", None)
    framing = getattr(encoder, "framing", None)
    special = getattr(framing, "n_special", 0)
    ids = getattr(prepared, "token_ids", None) or []
    return sum(len(x) + special if limit is None else min(len(x) + special, limit) for x in ids)


@dataclass(frozen=True)
class _Work:
    """Model work: ``tokens`` (ΣL), ``pairs`` (ΣL², attention), and the ``bytes`` and document tokens it covers."""

    tokens: int = 0
    pairs: int = 0
    bytes: int = 0
    document_tokens: float = 0.0

    @classmethod
    def of(cls, lengths: list[int]) -> _Work:
        """The work of model inputs of ``lengths`` tokens."""
        return cls(sum(lengths), sum(n * n for n in lengths))

    def __add__(self, other: _Work) -> _Work:
        return _Work(self.tokens + other.tokens, self.pairs + other.pairs, self.bytes + other.bytes,
                     self.document_tokens + other.document_tokens)


class PassCost:
    """Seconds of a forward pass as ``a·ΣL + b·ΣL²`` (ΣL: its tokens, ΣL²: the token pairs its attention scores),
    fitted by least squares over the passes seen, with a, b ≥ 0.

    When that fit fails (every pass so far had inputs of one length, so the two sums are proportional, or a
    coefficient comes out negative), ``b / a`` is taken from the model's FLOPs, ``pair_ratio`` = 1 / (2d + d_ff)
    (per token and layer the linear layers cost 2·(4d² + 2·d·d_ff), attention 4·L·d; d: hidden size, d_ff: the
    feed-forward size; see :meth:`for_model`) and ``a`` alone is fitted; without ``pair_ratio``, tokens alone
    (pairs alone when the token coefficient is the negative one)."""

    def __init__(self, pair_ratio: float | None = None) -> None:
        self.pair_ratio = pair_ratio
        self._tt = self._tq = self._qq = self._ts = self._qs = 0.0

    @classmethod
    def for_model(cls, model: Any) -> PassCost:
        """A fit whose fallback ratio comes from ``model.config`` (``hidden_size``, ``intermediate_size``; none
        when the model has no such config)."""
        config = getattr(model, "config", None)
        d = getattr(config, "hidden_size", None)
        if not isinstance(d, int) or d <= 0:
            return cls()
        d_ff = getattr(config, "intermediate_size", None)
        return cls(1.0 / (2 * d + (d_ff if isinstance(d_ff, int) and d_ff > 0 else 4 * d)))

    def add(self, tokens: float, pairs: float, seconds: float) -> None:
        self._tt += tokens * tokens
        self._tq += tokens * pairs
        self._qq += pairs * pairs
        self._ts += tokens * seconds
        self._qs += pairs * seconds

    def coefficients(self) -> tuple[float, float]:
        """``(a, b)``: seconds per token and per token pair; ``(0, 0)`` before any pass."""
        det = self._tt * self._qq - self._tq * self._tq
        if det > 1e-9 * self._tt * self._qq:
            a = (self._ts * self._qq - self._qs * self._tq) / det
            b = (self._qs * self._tt - self._ts * self._tq) / det
            if a >= 0 and b >= 0:
                return a, b
            if a < 0 and self.pair_ratio is None:
                return 0.0, self._qs / self._qq
        if self.pair_ratio is not None and self._tt:  # fit a along x = ΣL + r·ΣL²
            r = self.pair_ratio
            a = (self._ts + r * self._qs) / (self._tt + 2 * r * self._tq + r * r * self._qq)
            return a, r * a
        return (self._ts / self._tt if self._tt else 0.0), 0.0

    def seconds(self, tokens: float, pairs: float) -> float:
        a, b = self.coefficients()
        return a * tokens + b * pairs
