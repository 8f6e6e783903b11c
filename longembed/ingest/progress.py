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
- **ETA** comes from model work, not from documents: the model tokens still to run are those of the batch being
  encoded plus, for the batches not started, their size in bytes × the model tokens per byte of the batches seen so
  far; divided by the model tokens per second since the first batch began to encode. Documents differ in length by
  orders of magnitude, so an ETA by document count is wrong by as much.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
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
        self._clock = clock
        self._started = clock()
        self._first_encode: float | None = None
        self._batch_tokens_start = 0.0
        self._batch = (0, 0.0, 0)  # model tokens, document tokens, bytes of the batch being encoded
        self._batch_ran = 0  # model tokens of that batch run so far
        self._planned = 0  # model tokens of every batch that began to encode
        self._planned_bytes = 0
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
        n_tokens = sum(len(segment.input_ids) for plan in plans for segment in plan)
        if not self.enabled or n_tokens <= 0:
            yield
            return
        if self._first_encode is None:
            self._first_encode = self._clock()
        self._batch = (n_tokens, float(_document_tokens(encoder, prepared)), n_bytes)
        self._batch_ran = 0
        self._planned += n_tokens
        self._planned_bytes += n_bytes
        self._share = n_documents / n_tokens
        previous = getattr(encoder, "on_forward", None)
        encoder.on_forward = self.forward
        try:
            yield
        finally:
            encoder.on_forward = previous
            self._batch = (0, 0.0, 0)

    def forward(self, n_tokens: int) -> None:
        """One forward pass over ``n_tokens`` model tokens (called by the encoder)."""
        self.model_tokens += n_tokens
        self._batch_ran += n_tokens
        self.forward_passes += 1
        batch_tokens, document_tokens, _ = self._batch
        if batch_tokens:
            self.tokens = self._batch_tokens_start + document_tokens * min(self._batch_ran / batch_tokens, 1.0)
        self._postfix()  # shown by the update's refresh
        self.bar.update(min(n_tokens * self._share, max(self.bar.total - self.bar.n, 0)))

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
        now = self._clock()
        if self._first_encode is None or not self.model_tokens or not self._planned_bytes or now <= self._first_encode:
            return None
        batch_tokens, _, batch_bytes = self._batch
        per_byte = self._planned / self._planned_bytes
        left = max(batch_tokens - self._batch_ran, 0) + max(self.bytes_left - batch_bytes, 0) * per_byte
        return left * (now - self._first_encode) / self.model_tokens

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
