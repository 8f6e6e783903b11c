"""Model inputs in token-budget batches: which segments share a forward pass, and the padded tensors of one batch
(input ids, attention mask, position ids; token type ids for models that take them)."""

from __future__ import annotations

from itertools import chain

import numpy as np
import torch

from longembed.extenders import Segment

SHORT_INPUT_RATIO = 1.1
"""An input shorter than 1/1.1 of the longest input of the batch being filled starts a new batch: no input is padded
by more than 10 %. Padding costs compute (quadratically in attention): at 4, the default ingest of the sample
meetings ran 1.43 padded tokens per real one and took 43–47 s to encode, at 1.1 1.02 and 32 s
(``perf/PERF.md`` section 12)."""


def token_budget_batches(segments: list[Segment], batch_tokens: int) -> list[list[int]]:
    """Indices of ``segments`` grouped into forward passes, longest first.

    A batch holds segments of one variant only (see :attr:`Segment.variant`: the extender runs each variant in
    its own forward context), at most ``batch_tokens`` padded tokens (batch size × its longest input; an input
    longer than the budget gets a batch of its own), and no input under 1/:data:`SHORT_INPUT_RATIO` of its
    longest.

    >>> from longembed.extenders import Segment
    >>> segs = [Segment([1] * n, list(range(n))) for n in (37, 40, 30, 38)]
    >>> token_budget_batches(segs, 90)
    [[1, 3], [0], [2]]
    """
    order = sorted(range(len(segments)), key=lambda i: (segments[i].variant, -len(segments[i].input_ids)))
    batches: list[list[int]] = []
    batch: list[int] = []
    for i in order:
        length = len(segments[i].input_ids)
        longest = len(segments[batch[0]].input_ids) if batch else length
        if batch and (
            (len(batch) + 1) * longest > batch_tokens
            or segments[i].variant != segments[batch[0]].variant
            or SHORT_INPUT_RATIO * length < longest
        ):
            batches.append(batch)
            batch = []
        batch.append(i)
    if batch:
        batches.append(batch)
    return batches


def batch_inputs(
    segments: list[Segment], pad_token_id: int, left_padded: bool, token_type_ids: bool, device: torch.device | str
) -> dict[str, torch.Tensor]:
    """Model inputs for one batch of segments: ``input_ids``, ``attention_mask``, ``position_ids`` (and
    ``token_type_ids``, all zero, when ``token_type_ids``), each of shape (n, longest), padded on the left
    (``left_padded``, e.g. Qwen3-Embedding) or the right, on ``device``. Padding positions repeat the nearest real
    position id.

    Built as NumPy arrays in one pass (no tensor per input), then moved to ``device``: from pinned memory without
    blocking on CUDA, so the copy overlaps the previous batch's forward pass.
    """
    n = len(segments)
    lengths = np.fromiter((len(s.input_ids) for s in segments), dtype=np.int64, count=n)
    longest = int(lengths.max())
    starts = longest - lengths if left_padded else np.zeros(n, dtype=np.int64)
    columns = np.arange(longest)
    real = (columns >= starts[:, None]) & (columns < (starts + lengths)[:, None])  # row-major: each row's tokens
    total = int(lengths.sum())
    input_ids = np.full((n, longest), pad_token_id, dtype=np.int64)
    input_ids[real] = np.fromiter(chain.from_iterable(s.input_ids for s in segments), dtype=np.int64, count=total)
    edges = np.fromiter((s.position_ids[0] if left_padded else s.position_ids[-1] for s in segments),
                        dtype=np.int64, count=n)
    position_ids = np.repeat(edges[:, None], longest, axis=1)
    position_ids[real] = np.fromiter(chain.from_iterable(s.position_ids for s in segments), dtype=np.int64,
                                     count=total)
    inputs = {
        "input_ids": _to_device(input_ids, device),
        "attention_mask": _to_device(real.astype(np.int64), device),
        "position_ids": _to_device(position_ids, device),
    }
    if token_type_ids:
        inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
    return inputs


def _to_device(array: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """``array`` as a tensor on ``device``; to CUDA through pinned memory, without blocking the host."""
    tensor = torch.from_numpy(array)
    if torch.device(device).type == "cuda":
        return tensor.pin_memory().to(device, non_blocking=True)
    return tensor.to(device)
