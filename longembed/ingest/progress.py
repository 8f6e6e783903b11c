"""The ingest progress bar: documents done, moving within a batch with every forward pass of the model.

A batch of documents is encoded in one call (its model inputs grouped into token-budget forward passes), so a
bar updated per batch stands still for the whole first batch (a minute and more for long documents on a CPU).
:class:`IngestProgress` listens to the encoder's forward passes (``Encoder.on_forward``) and advances the bar by
each pass's share of the batch's tokens, shows the tokens embedded so far and the rate, and puts the bar exactly
on the documents done when a batch ends.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Self

from tqdm.auto import tqdm

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total_fmt} {unit} [{elapsed}<{remaining}{postfix}]"
"""tqdm's default layout with the (fractional) document count shown whole."""


class IngestProgress:
    """A tqdm bar over ``total`` documents that also counts the tokens embedded (per forward pass).

    Args:
        total: documents in the run (unchanged and failed ones included; they count when their batch ends).
        enabled: ``False``: no bar and no hook on the encoder (e.g. the server's ingests).
        **bar_options: passed to :class:`tqdm.tqdm` (e.g. ``file``, ``mininterval`` in tests).
    """

    def __init__(self, total: int, enabled: bool = True, **bar_options: Any) -> None:
        self.enabled = enabled
        self.bar = tqdm(
            total=total, unit="doc", desc="ingest", disable=not enabled, bar_format=BAR_FORMAT, **bar_options
        )
        self.tokens = 0
        """Tokens of the model inputs run through the model so far (padding excluded)."""
        self.forward_passes = 0
        self.done = 0
        self._started = time.perf_counter()
        self._share = 0.0  # documents per token of the batch being encoded

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.close()

    @contextmanager
    def encoding(self, encoder: Any, n_documents: int, prepared: Any) -> Iterator[None]:
        """While ``encoder`` embeds ``n_documents`` made ready as ``prepared`` (a
        :class:`~longembed.encoding.prepare.PreparedTexts`), advance the bar on each of its forward passes (its
        ``on_forward`` hook, restored afterwards). Inputs without model plans (an encoder wrapper that defers its
        work, e.g. the benchmark's embedding cache) leave the bar to :meth:`batch_done`."""
        plans = (getattr(prepared, "plans", None) or []) + (getattr(prepared, "extra", None) or [])  # extra: passages
        n_tokens = sum(len(segment.input_ids) for plan in plans for segment in plan)
        if not self.enabled or n_tokens <= 0:
            yield
            return
        self._share = n_documents / n_tokens
        previous = getattr(encoder, "on_forward", None)
        encoder.on_forward = self.forward
        try:
            yield
        finally:
            encoder.on_forward = previous

    def forward(self, n_tokens: int) -> None:
        """One forward pass over ``n_tokens`` tokens (called by the encoder)."""
        self.tokens += n_tokens
        self.forward_passes += 1
        self._postfix()  # shown by the update's refresh
        self.bar.update(min(n_tokens * self._share, max(self.bar.total - self.bar.n, 0)))

    def batch_done(self, n_documents: int) -> None:
        """A batch of ``n_documents`` (embedded, unchanged or failed) is finished: the bar shows every document done."""
        self.done += n_documents
        self._postfix()
        self.bar.update(self.done - self.bar.n)

    def _postfix(self) -> None:
        elapsed = max(time.perf_counter() - self._started, 1e-9)
        self.bar.set_postfix_str(f"{self.tokens} tokens, {self.tokens / elapsed:.0f} tok/s", refresh=False)
