"""Train only the new position embeddings of an APE model (LongEmbed §4.2, "further tuning"; appendix of v1).

The L_o original rows of the position table and every other weight stay frozen; the new rows of an L_t-row
table (layout ``pi`` or ``rp``, :func:`longembed.models.tuned.initial_table`) learn. Training samples are short
(``sample_length`` tokens) but their position ids are shifted PoSE-style (Zhu et al. 2023): a positive of L
tokens gets ids u, u + 1, …, u + L − 1 with u ~ U{0 … L_t − L}, drawn per example, so every new position is
trained without long sequences. Queries are encoded as at inference (ids that hit only the original rows), so
their vectors are the base model's. Loss: InfoNCE with in-batch negatives, temperature τ (E5's 0.01):
−log exp(q_i·p_i/τ) / Σ_j exp(q_i·p_j/τ). AdamW, linear warm-up then linear decay.

Every step's batch and shifts come from a generator seeded by (seed, step), the model runs without dropout,
and checkpoints hold the rows, optimizer, scheduler and losses, so a resumed run ends with the parameters of an
uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from longembed.encoding import Encoder
from longembed.errors import TuneError
from longembed.extenders import Segment
from longembed.extenders.position_interpolation import find_position_embeddings, replace_position_table
from longembed.models.tuned import TunedLayout, TuningRecord, initial_table, write_tuned_folder
from longembed.settings import DEFAULT_MODEL, IndexSettings
from longembed.tuning.pairs import Pair
from longembed.settings import RunOptions

log = logging.getLogger(__name__)
CHECKPOINTS_KEPT = 2


@dataclass(frozen=True)
class TuneConfig:
    """What to train and how (the paper's recipe as defaults).

    Attributes:
        model: an APE model (folder or the default MiniLM).
        max_length: L_t in tokens (a multiple of L_o for ``init="pi"``).
        init: ``pi`` (originals at ids 0, s, 2s, …) or ``rp`` (originals at 0 … L_o − 1).
        steps, batch_size: optimizer steps and pairs per step (the in-batch negatives).
        lr, warmup, weight_decay: AdamW learning rate, warm-up steps, decoupled weight decay.
        temperature: τ of the InfoNCE loss.
        sample_length: longest positive in tokens (special tokens included); queries are cut at L_o.
        seed: seeds the batches, the shifts and nothing else (the start is deterministic).
        checkpoint_every: steps between checkpoints (0: none).
    """

    model: str = DEFAULT_MODEL
    max_length: int = 4096
    init: TunedLayout = "pi"
    steps: int = 1000
    batch_size: int = 32
    lr: float = 5e-4
    warmup: int = 100
    weight_decay: float = 0.01
    temperature: float = 0.01
    sample_length: int = 192
    seed: int = 0
    checkpoint_every: int = 100


class SplitPositionEmbedding(nn.Embedding):
    """A position table whose rows ``trainable`` learn (the parameter ``rows``, shape (k, d)) while the rest of
    ``weight`` (shape (n, d)) stays frozen; ``forward`` looks ids up in the combined table."""

    def __init__(self, weight: torch.Tensor, trainable: torch.Tensor, padding_idx: int | None) -> None:
        super().__init__(weight.shape[0], weight.shape[1], padding_idx=padding_idx, _weight=weight.clone())
        self.weight.requires_grad_(False)
        self.register_buffer("trainable", trainable.clone(), persistent=False)
        self.rows = nn.Parameter(weight[trainable].clone())

    def table(self) -> torch.Tensor:
        """The combined table, shape (n, d): frozen rows from ``weight``, learned rows from ``rows``."""
        return self.weight.index_put((self.trainable,), self.rows)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return nn.functional.embedding(ids, self.table(), self.padding_idx)


class PositionTuner:
    """Holds the model with its split table, the fixed query vectors and the optimizer for :func:`tune`.

    Raises:
        TuneError: the model's position encoding is not APE, or L_t does not fit the layout.
    """

    def __init__(self, pairs: list[Pair], config: TuneConfig, device: str = "auto") -> None:
        if len(pairs) < 2:
            raise TuneError(f"tuning needs at least 2 training pairs (in-batch negatives), got {len(pairs)}")
        base = IndexSettings(model=config.model, extend="none", max_length=512)
        self.encoder = Encoder(base, RunOptions(device=device, dtype="float32"))
        kind = self.encoder.positions.kind
        if kind != "ape":
            raise TuneError(
                f"longembed tune trains new absolute position embeddings; {config.model} has "
                f"{kind or 'unrecognised'} position encoding (tune APE models such as BERT or RoBERTa)"
            )
        self.config, self.pairs = config, pairs
        self.L_o, self.offset = self.encoder.positions.original_length, self.encoder.positions.offset
        if not 2 + self.encoder.framing.n_special <= config.sample_length <= config.max_length:
            raise TuneError(f"sample length must lie in {2 + self.encoder.framing.n_special} .. {config.max_length}")
        embeddings, table = find_position_embeddings(self.encoder.model)
        original = table.weight[self.offset : self.offset + self.L_o].detach()
        try:
            start, trainable = initial_table(original, config.max_length, config.init)
        except ValueError as exc:
            raise TuneError(str(exc)) from None
        full = torch.cat([table.weight[: self.offset].detach(), start], dim=0)
        self.table = SplitPositionEmbedding(full, trainable + self.offset, table.padding_idx).to(self.encoder.device)
        replace_position_table(self.encoder.model, embeddings, self.table, full.shape[0])
        for p in self.encoder.model.parameters():
            p.requires_grad_(False)
        self.table.rows.requires_grad_(True)
        self.s = config.max_length // self.L_o if config.init == "pi" else 1
        self.queries = self._encode_queries([p.query for p in pairs])
        self.optimizer = torch.optim.AdamW([self.table.rows], lr=config.lr, weight_decay=config.weight_decay)
        from transformers import get_linear_schedule_with_warmup

        self.scheduler = get_linear_schedule_with_warmup(self.optimizer, config.warmup, config.steps)
        prefix = self.encoder.settings.document_prefix
        self.positive_ids = self.encoder.tokenize([prefix + p.positive for p in pairs])

    @torch.no_grad()
    def _encode_queries(self, queries: list[str]) -> torch.Tensor:
        """Query vectors as at inference (ids × s hit the frozen original rows), shape (n, d)."""
        content = self.L_o - self.encoder.framing.n_special
        ids = self.encoder.tokenize([self.encoder.settings.query_prefix + q for q in queries])
        out = []
        n_special = self.encoder.framing.n_special
        for start in range(0, len(ids), 256):
            cut = [x[:content] for x in ids[start : start + 256]]
            segments = [self._segment(x, [p * self.s for p in range(len(x) + n_special)]) for x in cut]
            out.append(self.encoder.embed_inputs(self.encoder.batch_inputs(segments)))
        return torch.cat(out)

    def _segment(self, content: list[int], relative: list[int]) -> Segment:
        return Segment(self.encoder.framing.wrap(content), [self.offset + p for p in relative])

    def batch(self, step: int) -> tuple[torch.Tensor, list[Segment]]:
        """The pairs of ``step`` (indices, shape (B,)) and their shifted positive segments."""
        g = torch.Generator().manual_seed(self.config.seed * 1_000_003 + step)
        size = min(self.config.batch_size, len(self.pairs))
        index = torch.randperm(len(self.pairs), generator=g)[:size]
        content = self.config.sample_length - self.encoder.framing.n_special
        segments = []
        for i in index.tolist():
            x = self.positive_ids[i][:content]
            length = len(x) + self.encoder.framing.n_special
            u = int(torch.randint(0, self.config.max_length - length + 1, (1,), generator=g))
            segments.append(self._segment(x, list(range(u, u + length))))
        return index, segments

    def loss(self, step: int) -> torch.Tensor:
        """InfoNCE loss of the batch of ``step`` (a scalar with a graph to the learned rows)."""
        index, segments = self.batch(step)
        inputs = self.encoder.batch_inputs(segments)
        cuda = self.encoder.device.type == "cuda"
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            positives = self.encoder.embed_inputs(inputs)
        logits = self.queries[index.to(self.queries.device)] @ positives.float().T / self.config.temperature
        return nn.functional.cross_entropy(logits, torch.arange(len(index), device=logits.device))

    def state(self, step: int, losses: list[float]) -> dict:
        return {
            "step": step,
            "config": asdict(self.config),
            "rows": self.table.rows.detach().cpu(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "losses": losses,
        }

    def load(self, state: dict) -> tuple[int, list[float]]:
        with torch.no_grad():
            self.table.rows.copy_(state["rows"].to(self.table.rows.device))
        self.optimizer.load_state_dict(state["optimizer"])
        lr_lambdas = self.scheduler.lr_lambdas  # keep this run's schedule (its ``steps``)
        self.scheduler.load_state_dict(state["scheduler"])
        self.scheduler.lr_lambdas = lr_lambdas
        return int(state["step"]), list(state["losses"])


def _fixed(config: dict) -> dict:
    """The settings a resumed run must share with its checkpoint: all but ``steps`` and ``checkpoint_every``
    (a run may be lengthened or cut short; the learning-rate schedule then follows the new ``steps``)."""
    return {k: v for k, v in config.items() if k not in ("steps", "checkpoint_every")}


def latest_checkpoint(out: Path) -> Path | None:
    """The checkpoint with the highest step under ``out/checkpoints``, if any."""
    found = sorted((out / "checkpoints").glob("step-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
    return found[-1] if found else None


def _save_checkpoint(out: Path, state: dict) -> None:
    folder = out / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".step-{state['step']}.tmp"
    torch.save(state, tmp)
    os.replace(tmp, folder / f"step-{state['step']}.pt")
    for old in sorted(folder.glob("step-*.pt"), key=lambda p: int(p.stem.split("-")[1]))[:-CHECKPOINTS_KEPT]:
        old.unlink()


def tune(
    pairs: list[Pair],
    out: str | Path,
    config: TuneConfig = TuneConfig(),
    *,
    resume: bool = False,
    device: str = "auto",
    data: list[str] | None = None,
    progress: bool = True,
) -> TuningRecord:
    """Train the new position rows and write the tuned model folder ``out``.

    Args:
        pairs: training pairs (:mod:`longembed.tuning.pairs`).
        out: output folder (a sentence-transformers folder plus ``longembed_tuning.json`` and checkpoints).
        resume: continue from the latest checkpoint in ``out``; its config must equal ``config`` but for ``steps``
            and ``checkpoint_every`` (with the same ``steps`` the result equals an uninterrupted run's).
        data: a description of the training data, recorded in the folder.

    Returns:
        the record written to the folder (layout, L_o, s, L_t, training data, steps, loss curve).

    Raises:
        TuneError: a RoPE or unrecognised model, too few pairs, a bad L_t, or a checkpoint of another config.
    """
    from tqdm import tqdm

    out = Path(out)
    tuner = PositionTuner(pairs, config, device)
    step, losses = 0, []
    if resume and (checkpoint := latest_checkpoint(out)) is not None:
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        if _fixed(state["config"]) != _fixed(asdict(config)):
            raise TuneError(f"the checkpoint {checkpoint} was made with other settings; start without --resume")
        step, losses = tuner.load(state)
        if step > config.steps:
            raise TuneError(f"the checkpoint {checkpoint} is at step {step}, past --steps {config.steps}")
    started = time.monotonic()
    bar = tqdm(total=config.steps, initial=step, disable=not progress, unit="step", desc="tuning")
    while step < config.steps:
        loss = tuner.loss(step)
        tuner.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        tuner.optimizer.step()
        tuner.scheduler.step()
        step += 1
        losses.append(round(loss.item(), 5))
        bar.update(1)
        bar.set_postfix(loss=f"{losses[-1]:.3f}")
        if config.checkpoint_every and step % config.checkpoint_every == 0 and step < config.steps:
            _save_checkpoint(out, tuner.state(step, losses))
    bar.close()
    record = TuningRecord(
        layout=config.init,
        original_length=tuner.L_o,
        max_length=config.max_length,
        scale_factor=tuner.s,
        base_model=config.model,
        training={
            **asdict(config),
            "data": data or [],
            "pairs": len(pairs),
            "device": str(tuner.encoder.device),
            "seconds_this_run": round(time.monotonic() - started, 1),
            "losses": losses,
        },
    )
    with torch.no_grad():
        weight = tuner.table.table().detach().cpu()
    write_tuned_folder(tuner.encoder.model_path, out, tuner.encoder.model, weight, record)
    export_rows(out / "tuned_rows.safetensors", weight[tuner.offset :], tuner.table.trainable.cpu() - tuner.offset, record)
    _save_checkpoint(out, tuner.state(step, losses))
    return record


def export_rows(path: Path, table: torch.Tensor, row_ids: torch.Tensor, record: TuningRecord) -> None:
    """The learned rows alone (``rows`` (k, d), ``row_ids`` (k,)) with the record: what a shipped tuned model
    carries (:func:`longembed.models.tuned.assemble_shipped` rebuilds the folder from the base model)."""
    from safetensors.torch import save_file

    save_file(
        {"rows": table[row_ids].contiguous(), "row_ids": row_ids.contiguous()},
        str(path),
        metadata={"record": json.dumps(asdict(record))},
    )
