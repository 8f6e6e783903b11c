"""An attention plug-in for methods that change attention itself: logit scaling and SelfExtend.

transformers lets a model call any attention function registered in its ``AttentionInterface``. We register
one named ``longembed`` that, for every attention module that carries an :class:`AttentionControl`, applies

- attention scaling (LongEmbed Appendix B): logits × max(1, log L / log L_o) for an input of L > L_o tokens,
  decided per row of the batch from that row's own length;
- SelfExtend (Jin et al. 2024; LongEmbed §4.3), through :func:`self_extend_attention`;

and otherwise calls transformers' own SDPA attention, so a model with nothing switched on computes exactly
what it computed before. Both apply only to layers that attend globally: a sliding-window layer never sees
a distance larger than its window, so neither the number of attended tokens nor the positions grow with L.
The per-batch state (row factors, whether SelfExtend is on) is set by the extender around one forward call
and cleared after it, so no embedding depends on an earlier call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

ATTENTION_NAME = "longembed"


@dataclass
class SelfExtendSpec:
    """SelfExtend parameters for one model: neighbour window w, group size g (tokens), and the rotary
    inverse frequencies of the global layers (shape (D/2,), D = rotary dimensions)."""

    window: int
    group: int
    inv_freq: torch.Tensor
    block: int = 512


@dataclass
class AttentionControl:
    """What the ``longembed`` attention does for the current batch; shared by all attention modules of a model.

    Attributes:
        row_scale: logit factor per row, shape (batch,), or ``None`` (no scaling).
        self_extend: SelfExtend parameters, or ``None`` (plain attention).
        self_extend_on: whether the current batch uses SelfExtend (set per batch by the extender).
    """

    row_scale: torch.Tensor | None = None
    self_extend: SelfExtendSpec | None = None
    self_extend_on: bool = False
    calls: int = field(default=0, repr=False)

    def reset(self) -> None:
        self.row_scale = None
        self.self_extend_on = False


def attention_scale(length: int, original_length: int) -> float:
    """max(1, log L / log L_o): the logit factor of LongEmbed Appendix B for an input of ``length`` tokens."""
    if length <= original_length or original_length <= 1:
        return 1.0
    return max(1.0, math.log(length) / math.log(original_length))


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rotate(x: torch.Tensor, delta: torch.Tensor, inv_freq: torch.Tensor) -> torch.Tensor:
    """Rotate ``x`` (…, n, d) by ``delta`` (n,) positions with RoPE (rotate-half layout, first D = 2·len(inv_freq)
    dimensions rotated, the rest left as they are). Rotations compose: R(a)·R(b)·x = R(a + b)·x."""
    dims = 2 * inv_freq.shape[0]
    angles = delta.to(torch.float32)[:, None] * inv_freq.to(device=x.device, dtype=torch.float32)[None, :]
    emb = torch.cat((angles, angles), dim=-1)
    head = x[..., :dims].float()
    rotated = head * emb.cos() + rotate_half(head) * emb.sin()
    return torch.cat((rotated.to(x.dtype), x[..., dims:]), dim=-1) if dims < x.shape[-1] else rotated.to(x.dtype)


def self_extend_relative_positions(
    length: int, window: int, group: int, device: torch.device | str | None = None
) -> torch.Tensor:
    """The relative position SelfExtend gives key j as seen from query i (bidirectional), shape (L, L).

    rel(i, j) = j − i when |j − i| < w, else sign(j − i)·(|⌊j/g⌋ − ⌊i/g⌋| + w − ⌊w/g⌋)
    (LongEmbed §4.3 and Figure 4, after SelfExtend, Jin et al. 2024).

    >>> self_extend_relative_positions(10, 4, 2)[0].tolist()
    [0, 1, 2, 3, 4, 4, 5, 5, 6, 6]
    """
    pos = torch.arange(length, device=device)
    i, j = pos[:, None], pos[None, :]
    diff = j - i
    grouped = torch.sign(diff) * ((j // group - i // group).abs() + window - window // group)
    return torch.where(diff.abs() < window, diff, grouped)


def self_extend_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None,
    scaling: float,
    spec: SelfExtendSpec,
    row_scale: torch.Tensor | None = None,
) -> torch.Tensor:
    """Bidirectional SelfExtend attention on already-rotated queries and keys.

    Token n of each row is assumed to sit at position n (the ``se`` extender feeds position ids 0 … L − 1).
    Queries and keys are re-rotated (RoPE rotations compose) so that the logit of query i and key j sees the
    relative position of :func:`self_extend_relative_positions`: neighbours keep j − i; far keys on the left
    see the query at ⌊i/g⌋ + c and the key at ⌊j/g⌋, far keys on the right the query at ⌊i/g⌋ − c,
    c = w − ⌊w/g⌋. Queries are processed in blocks of ``spec.block`` to bound memory at block × L logits.

    Args:
        query: (batch, heads, L, d); key, value: (batch, kv_heads, L, d).
        mask: boolean (batch, 1, L, L) with True where attention is allowed, or ``None``.
        scaling: logit scale (1/sqrt(d) usually).
        row_scale: optional extra logit factor per row, shape (batch,).

    Returns:
        attention output, shape (batch, L, heads, d) (transformers' attention-function layout).
    """
    batch, heads, length, _ = query.shape
    n_rep = heads // key.shape[1]
    if n_rep > 1:
        key = key.repeat_interleave(n_rep, dim=1)
        value = value.repeat_interleave(n_rep, dim=1)
    w, g = spec.window, spec.group
    c = w - w // g
    device = query.device
    pos = torch.arange(length, device=device)
    key_grouped = rotate(key, pos // g - pos, spec.inv_freq)
    factor = torch.full((batch,), scaling, device=device, dtype=torch.float32)
    if row_scale is not None:
        factor = factor * row_scale.to(device=device, dtype=torch.float32)
    factor = factor[:, None, None, None]
    out = torch.empty(batch, heads, length, value.shape[-1], device=device, dtype=query.dtype)
    for start in range(0, length, spec.block):
        stop = min(length, start + spec.block)
        q = query[:, :, start:stop]
        i = pos[start:stop]
        near = q.float() @ key.float().transpose(-1, -2)
        left = rotate(q, i // g + c - i, spec.inv_freq).float() @ key_grouped.float().transpose(-1, -2)
        right = rotate(q, i // g - c - i, spec.inv_freq).float() @ key_grouped.float().transpose(-1, -2)
        diff = pos[None, :] - i[:, None]
        logits = torch.where(diff.abs() < w, near, torch.where(diff < 0, left, right)) * factor
        if mask is not None:  # the lowest finite value, not -inf: a fully masked (padding) row stays finite
            logits = logits.masked_fill(~mask[:, :, start:stop].to(torch.bool), torch.finfo(logits.dtype).min)
        weights = torch.softmax(logits, dim=-1)
        out[:, :, start:stop] = (weights @ value.float()).to(query.dtype)
    return out.transpose(1, 2).contiguous()


def is_global_layer(module: nn.Module, kwargs: dict) -> bool:
    """Whether an attention call attends over the whole input (no sliding window)."""
    return kwargs.get("sliding_window") is None and getattr(module, "sliding_window", None) is None


def longembed_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """The ``longembed`` attention function (transformers ``AttentionInterface`` signature)."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    control: AttentionControl | None = getattr(module, "longembed_control", None)
    if control is None or not is_global_layer(module, kwargs):
        return sdpa_attention_forward(
            module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs
        )
    if scaling is None:
        scaling = query.shape[-1] ** -0.5
    control.calls += 1
    if control.self_extend_on and control.self_extend is not None:
        mask = attention_mask
        if mask is not None and mask.dtype != torch.bool:  # additive float mask
            mask = mask == 0
        length = query.shape[2]
        if mask is None and kwargs.get("is_causal", getattr(module, "is_causal", False)) and length > 1:
            # transformers skips an unpadded causal mask and relies on SDPA's is_causal flag: rebuild it
            mask = torch.ones(length, length, dtype=torch.bool, device=query.device).tril()[None, None]
        out = self_extend_attention(query, key, value, mask, scaling, control.self_extend, control.row_scale)
        return out, None
    if control.row_scale is not None:
        query = query * control.row_scale.to(device=query.device, dtype=query.dtype)[:, None, None, None]
    return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling, dropout=dropout, **kwargs)


def register() -> None:
    """Register the ``longembed`` attention and its mask (SDPA's boolean mask) with transformers (idempotent)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(ATTENTION_NAME, longembed_attention)
    AttentionMaskInterface.register(ATTENTION_NAME, sdpa_mask)


def install(model: nn.Module) -> AttentionControl:
    """Switch ``model`` to the ``longembed`` attention and attach one control to all its attention modules.

    Raises:
        ExtensionError: the model does not route attention through transformers' ``AttentionInterface``.
    """
    from longembed.errors import ExtensionError

    existing = getattr(model, "longembed_control", None)
    if isinstance(existing, AttentionControl):
        return existing
    register()
    try:
        model.set_attn_implementation(ATTENTION_NAME)
    except (ValueError, KeyError, NotImplementedError) as exc:  # a model with fixed attention
        raise ExtensionError(f"this model's attention cannot be replaced ({exc})") from None
    if getattr(model.config, "_attn_implementation", None) != ATTENTION_NAME:
        raise ExtensionError("this model does not use transformers' attention interface; cannot change its attention")
    control = AttentionControl()
    for module in model.modules():  # the attention function receives the attention module; any may be one
        module.longembed_control = control
    return control
