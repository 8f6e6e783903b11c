"""Token states → vectors: pooling over the attention mask or over given spans, then the Dense head and L2
normalisation (sentence-transformers' ``Pooling`` → ``Dense`` → ``Normalize`` modules, as functions)."""

from __future__ import annotations

import torch
from torch import nn

from longembed.models.sentence_transformers_folder import Pooling


def pool(
    hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: Pooling, in_place: bool = False
) -> torch.Tensor:
    """Pool token states into one vector per input.

    Args:
        hidden: last hidden states, shape (batch, length, d).
        attention_mask: 1 for real tokens, 0 for padding (right or left), shape (batch, length).
        pooling: ``mean`` over real tokens, ``cls`` (first real token) or ``lasttoken`` (last real token).
        in_place: ``mean`` multiplies ``hidden`` by the mask in place (its padding positions become 0, real tokens
            stay bit for bit) instead of building a weighted (batch, length, d) copy: the same result, without
            writing the copy (~1.5 GB per million tokens at d = 384). Only for a tensor the caller owns and
            autograd does not need (the encoder's inference pass).

    Returns:
        shape (batch, d).
    """
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    if pooling == "cls":
        return hidden[rows, attention_mask.argmax(dim=1)]
    if pooling == "lasttoken":
        length = attention_mask.shape[1]
        return hidden[rows, length - 1 - attention_mask.flip(dims=[1]).argmax(dim=1)]
    weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
    weighted = hidden.mul_(weights) if in_place else hidden * weights
    return weighted.sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def span_means(
    hidden: torch.Tensor, lengths: list[int], spans: list[list[tuple[int, int]]], left_padded: bool
) -> torch.Tensor:
    """Mean token state over each span, the pooling of late chunking (Günther et al. 2024, arXiv 2409.04701, §3).

    Args:
        hidden: last hidden states of one batch, shape (batch, longest, d).
        lengths: real tokens of each row (the rest is padding, on the left when ``left_padded``).
        spans: per row, ``[start, end)`` positions in that row's own input ids (end > start).

    Returns:
        shape (total spans, d), rows in order (row 0's spans first); (0, d) without spans.
    """
    longest = hidden.shape[1]
    means = []
    for row, (length, row_spans) in enumerate(zip(lengths, spans)):
        shift = longest - length if left_padded else 0
        means.extend(hidden[row, shift + begin : shift + end].mean(dim=0) for begin, end in row_spans)
    return torch.stack(means) if means else hidden.new_zeros((0, hidden.shape[-1]))


def embed_pooled(pooled: torch.Tensor, head: nn.Module | None, normalize: bool = True) -> torch.Tensor:
    """Pooled token states (shape (n, hidden size)) → Dense head (if any) → L2-normalised, shape (n, d)."""
    if head is not None:
        pooled = head(pooled)
    if normalize:
        pooled = nn.functional.normalize(pooled, dim=-1)
    return pooled
