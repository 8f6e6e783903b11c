"""``pi``: linear Position Interpolation for absolute position embeddings (LongEmbed §4.2, Chen et al. 2023)."""

from __future__ import annotations

import torch
from torch import nn

from longembed.extenders.base import Extender, scale_factor


def interpolate_position_embeddings(weight: torch.Tensor, s: int) -> torch.Tensor:
    """Enlarge a position-embedding matrix s times by linear interpolation.

    Args:
        weight: the original matrix E_o, shape (L_o, d).
        s: the integer scaling factor.

    Returns:
        E_t of shape (s·L_o, d) with E_t[i·s] = E_o[i] exactly, rows between two multiples of s linearly
        interpolated between the neighbouring original rows, and rows past (L_o − 1)·s equal to E_o[L_o − 1].
        On ``weight``'s device: every index and weight is built there (float64, then ``weight``'s dtype).
    """
    original_length = weight.shape[0]
    j = torch.arange(s * original_length, dtype=torch.float64, device=weight.device)
    x = j / s
    lower = torch.floor(x).long().clamp(max=original_length - 1)
    upper = (lower + 1).clamp(max=original_length - 1)
    frac = torch.where(lower == upper, 0.0, x - lower).to(weight.dtype).unsqueeze(1)
    return weight[lower] * (1 - frac) + weight[upper] * frac


def find_position_embeddings(model: nn.Module) -> tuple[nn.Module, nn.Embedding] | None:
    """The embeddings module and its learned ``position_embeddings`` table, if the model has one."""
    for module in model.modules():
        table = getattr(module, "position_embeddings", None)
        if isinstance(table, nn.Embedding):
            return module, table
    return None


def replace_position_table(model: nn.Module, embeddings: nn.Module, table: nn.Module, n_rows: int) -> None:
    """Put ``table`` (a module mapping position ids to vectors, ``n_rows`` ids) in place of the model's
    ``position_embeddings``, and resize what is sized by the old table: BERT's ``position_ids`` and
    ``token_type_ids`` buffers (shape (1, n_rows)) and ``config.max_position_embeddings``."""
    embeddings.position_embeddings = table
    device = next(table.parameters(), next(table.buffers(), torch.empty(0))).device
    if isinstance(getattr(embeddings, "position_ids", None), torch.Tensor):
        embeddings.position_ids = torch.arange(n_rows, device=device).expand((1, -1))
    if isinstance(getattr(embeddings, "token_type_ids", None), torch.Tensor):
        embeddings.token_type_ids = torch.zeros((1, n_rows), dtype=torch.long, device=device)
    if hasattr(model, "config"):
        model.config.max_position_embeddings = n_rows


class PositionInterpolation(Extender):
    """Interpolate the position-embedding matrix to L_t = ``max_length`` positions.

    With s = ⌈L_t / L_o⌉ the matrix grows to s·L_o rows (:func:`interpolate_position_embeddings`).
    Inputs longer than L_o use position ids 0, 1, …, L − 1 in the enlarged matrix (original position p/s);
    inputs of at most L_o tokens use 0, s, 2s, … and so get exactly the original model's embedding.
    """

    name = "pi"
    summary = "APE linear position interpolation: the position-embedding matrix interpolated to s·L_o rows"

    @property
    def s(self) -> int:
        """Scaling factor s = ⌈L_t / L_o⌉ (1 when max_length ≤ L_o)."""
        return scale_factor(self.max_length, self.L_o)

    def relative_position_ids(self, length: int) -> list[int]:
        if length <= self.L_o:
            return list(range(0, length * self.s, self.s))  # 0, s, 2s, ...: s computed once, not per token
        return list(range(length))

    def prepare_model(self, model: nn.Module) -> None:
        super().prepare_model(model)
        if self.s == 1:
            return
        found = find_position_embeddings(model)
        assert found is not None, "an APE model always has position_embeddings"
        embeddings, table = found
        offset = self.positions.offset
        with torch.no_grad():
            original = table.weight[offset : offset + self.L_o]
            enlarged = interpolate_position_embeddings(original, self.s)
            weight = torch.cat([table.weight[:offset], enlarged], dim=0)
        new_table = nn.Embedding.from_pretrained(weight, freeze=True, padding_idx=table.padding_idx)  # weight's device
        replace_position_table(model, embeddings, new_table, weight.shape[0])
