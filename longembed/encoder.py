"""Turning texts into normalised vectors with a loaded Hugging Face embedding model (see :mod:`longembed.models`
for finding, loading and placing the model).

The encoder owns one step of the data path: token ids -> (extender) -> model inputs -> hidden states ->
pooled, L2-normalised vector. It knows nothing of files or Qdrant.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from longembed.errors import LongEmbedError, ModelLoadError
from longembed.extenders import (
    Extender,
    Segment,
    build_extender,
)
from longembed.models.bidirectional import bidirectional_if_configured
from longembed.models.device import DTYPES, default_batch_tokens, pick_device, pick_dtype
from longembed.models.paths import model_folder_config, resolve_model_path, with_model_defaults, with_model_prompts
from longembed.models.tuned import read_tuning, tuned_positions
from longembed.models.positions import MIN_VOCABULARY, detect_positions, special_token_framing, with_eos
from longembed.models.sentence_transformers_folder import (
    Pooling,
    SentenceTransformersConfig,
    TextKind,
    load_dense_head,
    read_sentence_transformers_config,
)
from longembed.settings import IndexSettings

log = logging.getLogger(__name__)
TOKENIZE_GROUP_CHARS = 200_000
"""Characters per tokenizer call of :meth:`Encoder.tokenize` (about 0.25 s of MiniLM's fast tokenizer on one
core); a single longer text is one call."""
# Model helpers (pick_device, resolve_model_path, with_model_prompts, ...) live in longembed.models; they are
# re-exported here for older imports.

__all__ = [
    "DTYPES",
    "MIN_VOCABULARY",
    "Embedded",
    "Encoder",
    "Pooling",
    "PreparedTexts",
    "SentenceTransformersConfig",
    "TextKind",
    "bidirectional_if_configured",
    "default_batch_tokens",
    "detect_positions",
    "model_folder_config",
    "pick_device",
    "pick_dtype",
    "pool",
    "read_sentence_transformers_config",
    "resolve_model_path",
    "special_token_framing",
    "with_eos",
    "with_model_defaults",
    "with_model_prompts",
]


@dataclass(frozen=True)
class Embedded:
    """One encoded text.

    Attributes:
        vector: float32 array, shape (d,), L2 norm 1.
        n_tokens: length of the whole text in tokens (special tokens included), before any truncation.
        truncated: whether tokens past ``max_length`` (or L_o for ``none``) were dropped.
        n_segments: model inputs the text was split into (>1 only for window methods such as ``pcw``).
        segment_vectors: float32 array, shape (n_segments, d), the L2-normalised pooled embedding of each
            model input in text order (``vector`` is their normalised mean); only when
            :meth:`Encoder.encode` is asked ``keep_segments=True``, else ``None``.
    """

    vector: np.ndarray
    n_tokens: int
    truncated: bool
    n_segments: int
    segment_vectors: np.ndarray | None = None
    passage_vectors: np.ndarray | None = None
    """float32, shape (n_passages, d), L2-normalised: one vector per entry of ``PreparedTexts.passage_refs``
    (``None`` when the text was prepared without passages)."""


@dataclass(frozen=True)
class PreparedTexts:
    """Texts tokenized and split into model inputs by the extender, ready for :meth:`Encoder.encode_prepared`.

    Preparing is CPU work without the model (the tokenizer releases the GIL), so the ingest step prepares the
    next documents in a worker thread while the model encodes the current ones.

    Attributes:
        kind: ``query`` or ``document`` (decides the prefix that was put before each text).
        token_ids: per text, its content token ids with the prefix, before truncation.
        plans: per text, its model inputs (segments) after truncation to the content limit.
        extra: per text, more model inputs whose token states only serve passages (never the text's vector):
            the macro windows of long late chunking, or the passages of ``naive`` (see
            :mod:`longembed.encoding.pooling`); ``None``: none.
        passage_refs: per text, one ``(segment, start, end)`` per passage: ``segment`` indexes the text's
            ``plans`` followed by its ``extra``; the passage vector is the mean of that segment's token states
            ``[start, end)`` (positions in its ``input_ids``), or, when ``start`` < 0, the segment pooled like
            the text (the model's pooling); ``None``: no passages.
    """

    kind: TextKind
    token_ids: list[list[int]]
    plans: list[list[Segment]]
    extra: list[list[Segment]] | None = None
    passage_refs: list[list[tuple[int, int, int]]] | None = None


class Encoder:
    """A Hugging Face model + tokenizer + pooling + one context-window extender.

    The pooled vector goes through the Dense layers of a sentence-transformers folder (e.g. EmbeddingGemma's
    768 → 3072 → 768), then is L2-normalised. Unset prefixes (``None``) become the model's own prompts
    (:func:`with_model_prompts`); :attr:`settings` holds the resolved ones.

    Args:
        settings: model, extension method and parameters, max length, prefixes.
        device: ``auto``, ``cpu`` or ``cuda[:n]``.
        dtype: ``auto`` (bfloat16 on CUDA when supported, else float32), ``float32``, ``float16``, ``bfloat16``;
            the model is cast after the extender has prepared it (so ``pi`` interpolates in float32);
            embeddings are always returned as float32.
        batch_tokens: padded tokens per forward pass (batch size × longest input in the batch); ``None`` =
            :func:`default_batch_tokens` of the device. An input longer than the budget gets a batch of its own.

    Raises:
        ModelLoadError: the model or tokenizer cannot be loaded.
        LongEmbedError: unknown ``device`` or ``dtype``, ``cuda`` without a GPU, or ``batch_tokens`` < 1.
        ExtensionError: the extension method is unknown, badly parameterised, or does not fit the model.
    """

    def __init__(
        self,
        settings: IndexSettings,
        device: str = "auto",
        batch_tokens: int | None = None,
        dtype: str = "auto",
    ) -> None:
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        if batch_tokens is not None and batch_tokens < 1:
            raise LongEmbedError(f"batch tokens must be at least 1, got {batch_tokens}")
        self.batch_tokens = batch_tokens if batch_tokens is not None else default_batch_tokens(self.device)
        self._tokenizer_lock = threading.Lock()  # prepare() may run in the ingest step's worker thread
        self.forward_gate: contextlib.AbstractContextManager = contextlib.nullcontext()
        """Held for each forward batch (and only then); a server sets its :class:`~longembed.serve.fair.FairGate`."""
        self.interruptible = False
        """True during a forward pass that runs the model as prepared (segments of the default variant, no
        attention scaling): another forward may run between its layers (see :func:`~longembed.serve.fair.share_device`)."""
        self.model_path = resolve_model_path(settings.model)
        st = model_folder_config(self.model_path)
        self.settings = with_model_defaults(settings, st)
        self.pooling: Pooling = st.pooling
        if not st.include_prompt:
            log.warning("the model's pooling excludes prompt tokens (include_prompt=false); longembed pools them too")
        self.normalize = True  # longembed always stores L2-normalised vectors (cosine = dot product)
        load_from = str(Path(self.model_path) / st.transformer_path) if st.transformer_path else self.model_path
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(load_from)
        except Exception as exc:  # transformers raises OSError, ValueError, ... for a missing tokenizer
            raise ModelLoadError(f"could not load a tokenizer from {settings.model!r}: {exc}") from None
        if len(self.tokenizer) < MIN_VOCABULARY:  # transformers builds an empty one when the files are missing
            raise ModelLoadError(
                f"could not load a tokenizer from {settings.model!r}: it has no tokenizer files "
                f"(the tokenizer built from its config knows only {len(self.tokenizer)} tokens)"
            )
        try:
            self.model = self._load_model(AutoModel, load_from)
        except Exception as exc:
            raise ModelLoadError(f"could not load model {settings.model!r}: {exc}") from None
        self.model.eval().to(device=self.device)
        bidirectional_if_configured(self.model)
        self.head = load_dense_head(self.model_path, st.dense).to(self.device) if st.dense else None
        self.tokenizer.model_max_length = 10**9  # we truncate ourselves, with a warning
        self.positions = detect_positions(self.model)
        tuning = read_tuning(self.model_path)
        if tuning is not None:
            self.positions = tuned_positions(self.positions, tuning)
        self.framing = special_token_framing(self.tokenizer)
        if self.pooling == "lasttoken":
            self.framing = with_eos(self.framing, self.tokenizer.eos_token_id)
        self.extender: Extender = build_extender(
            self.settings.extend, self.positions, self.framing, self.settings.max_length, self.settings.extend_params
        )
        self.extender.prepare_model(self.model)
        self.model.to(dtype=self.dtype)
        forward_params = inspect.signature(self.model.forward).parameters
        self._takes_token_type_ids = "token_type_ids" in forward_params
        self.dimension = st.dense[-1].out_features if st.dense else int(self.model.config.hidden_size)
        self.on_forward: Callable[[int], None] | None = None
        """Called after every forward pass with the number of tokens it ran (padding excluded), e.g. by the
        ingest progress bar; ``None``: nothing is called."""

    @staticmethod
    def _load_model(auto_model, path: str) -> nn.Module:
        try:
            return auto_model.from_pretrained(path, attn_implementation="sdpa")
        except (ValueError, ImportError):  # model without an SDPA path
            return auto_model.from_pretrained(path)

    @property
    def original_length(self) -> int:
        """L_o, the model's original context length in tokens."""
        return self.positions.original_length

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Content token ids of each text, without special tokens and without truncation (thread-safe).

        Texts go to the tokenizer in groups of about :data:`TOKENIZE_GROUP_CHARS` characters, each group taking
        the tokenizer lock once, so a query waits for one group of a long request, not for all of it."""
        out: list[list[int]] = []
        for group in _char_groups(texts, TOKENIZE_GROUP_CHARS):
            with self._tokenizer_lock:
                out.extend(self.tokenizer(group, add_special_tokens=False, return_attention_mask=False)["input_ids"])
        return out

    def encode(
        self, texts: list[str], kind: TextKind = "document", keep_segments: bool = False
    ) -> list[Embedded]:
        """Embed ``texts`` (queries or whole documents), in input order: :meth:`prepare`, then
        :meth:`encode_prepared`.

        The configured prefix is put before each text; each text is cut to ``max_length`` tokens, turned
        into model inputs by the extender, encoded in token-budget batches, pooled, averaged over its
        segments and L2-normalised.

        Args:
            keep_segments: also return each model input's own vector (``Embedded.segment_vectors``, e.g. the
                L_o-token windows of ``pcw``, which the chunked MaxP baseline stores as a multivector).

        Returns:
            one :class:`Embedded` per text; vectors have shape (d,), d = :attr:`dimension`.
        """
        return self.encode_prepared(self.prepare(texts, kind), keep_segments=keep_segments)

    def prepare(self, texts: list[str], kind: TextKind = "document") -> PreparedTexts:
        """Tokenize ``texts`` (with the query or document prefix) and split each into the extender's model inputs,
        after truncation to the content limit (``max_length``, or L_o for ``none``, minus special tokens).
        Needs no model; safe to call from another thread while :meth:`encode_prepared` runs."""
        prefix = self.settings.query_prefix if kind == "query" else self.settings.document_prefix
        ids = self.tokenize([prefix + t for t in texts])
        limit = self.extender.content_limit
        return PreparedTexts(kind=kind, token_ids=ids, plans=[self.extender.segments(x[:limit]) for x in ids])

    def encode_prepared(self, prepared: PreparedTexts, keep_segments: bool = False) -> list[Embedded]:
        """Embed texts made ready by :meth:`prepare`; see :meth:`encode`. Texts prepared with passages
        (:func:`longembed.encoding.pooling.prepare_passages`) also get ``passage_vectors``, from the same forward
        passes."""
        ids, plans = prepared.token_ids, prepared.plans
        limit = self.extender.content_limit
        extra = prepared.extra or [[] for _ in ids]
        flat = [(doc, seg) for doc, segs in enumerate(plans) for seg in segs]
        n_doc_segments = len(flat)
        flat += [(doc, seg) for doc, segs in enumerate(extra) for seg in segs]
        starts = np.cumsum([0] + [len(p) for p in plans])
        extra_starts = n_doc_segments + np.cumsum([0] + [len(e) for e in extra])

        def flat_index(doc: int, seg: int) -> int:
            own = len(plans[doc])
            return int(starts[doc] + seg) if seg < own else int(extra_starts[doc] + seg - own)

        spans: list[list[tuple[int, int]]] = [[] for _ in flat]
        refs = prepared.passage_refs
        if refs is not None:
            for doc, doc_refs in enumerate(refs):
                for seg, begin, end in doc_refs:
                    if begin >= 0:
                        spans[flat_index(doc, seg)].append((begin, end))
        pooled, span_vectors = self._encode_segments([seg for _, seg in flat], spans)
        out: list[Embedded] = []
        sums = np.zeros((len(ids), self.dimension), dtype=np.float32)
        for (doc, _), vec in zip(flat[:n_doc_segments], pooled):
            sums[doc] += vec
        if prepared.kind == "query":  # documents are reported by the ingest step, which names the file
            for x in ids:
                if len(x) > limit:
                    log.warning(
                        "query of %d tokens truncated to %d (%s)",
                        len(x) + self.framing.n_special,
                        limit + self.framing.n_special,
                        f"--extend {self.settings.extend}, L_o = {self.original_length}",
                    )
        for doc, x in enumerate(ids):
            vec = sums[doc] / len(plans[doc])
            norm = float(np.linalg.norm(vec))
            passages = None
            if refs is not None:
                taken = [0] * len(flat)  # next unread span vector of each segment
                rows = []
                for seg, begin, _ in refs[doc]:
                    i = flat_index(doc, seg)
                    if begin < 0:
                        rows.append(pooled[i])
                    else:
                        rows.append(span_vectors[i][taken[i]])
                        taken[i] += 1
                passages = np.array(rows, dtype=np.float32).reshape(len(rows), self.dimension)
            out.append(
                Embedded(
                    vector=vec / norm if norm > 0 else vec,
                    n_tokens=len(x) + self.framing.n_special,
                    truncated=len(x) > limit,
                    n_segments=len(plans[doc]),
                    segment_vectors=pooled[starts[doc] : starts[doc + 1]].copy() if keep_segments else None,
                    passage_vectors=passages,
                )
            )
        return out

    def _encode_segments(
        self, segments: list[Segment], spans: list[list[tuple[int, int]]] | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Pooled (and, per segment, normalised) embeddings, shape (len(segments), d), in input order, and per
        segment the normalised mean token states of each of its ``spans`` (positions in its ``input_ids``),
        shape (len(spans[i]), d), through the Dense head like the pooled vector."""
        spans = spans if spans is not None else [[] for _ in segments]
        result = np.zeros((len(segments), self.dimension), dtype=np.float32)
        span_out = [np.zeros((len(s), self.dimension), dtype=np.float32) for s in spans]
        # Segments of one variant only share a batch (see Segment.variant), longest first.
        order = sorted(range(len(segments)), key=lambda i: (segments[i].variant, -len(segments[i].input_ids)))
        batch: list[int] = []

        def run(batch: list[int]) -> None:
            pooled, by_row = self._forward([segments[j] for j in batch], [spans[j] for j in batch])
            result[batch] = pooled
            for j, vectors in zip(batch, by_row):
                span_out[j] = vectors

        for i in order:
            longest = len(segments[batch[0]].input_ids) if batch else len(segments[i].input_ids)
            if batch and (
                (len(batch) + 1) * longest > self.batch_tokens
                or segments[i].variant != segments[batch[0]].variant
                or 4 * len(segments[i].input_ids) < longest  # short passages: not padded to a document's length
            ):
                run(batch)
                batch = []
            batch.append(i)
        if batch:
            run(batch)
        return result, span_out

    def _forward(
        self, segments: list[Segment], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Pooled embeddings of one batch of segments of one variant (and their span vectors, see
        :meth:`_encode_segments`), inside the extender's forward context, holding :attr:`forward_gate` (one piece
        of work on the device); :attr:`on_forward` then gets the batch's token count."""
        with self.forward_gate, self.extender.forward_context(segments):
            outer, self.interruptible = self.interruptible, (
                not segments[0].variant and not self.extender.params.get("attn_scale")
            )
            try:
                out = self._forward_batch(segments, spans)
            finally:
                self.interruptible = outer
        if self.on_forward is not None:
            self.on_forward(sum(len(s.input_ids) for s in segments))
        return out

    @torch.inference_mode()
    def _forward_batch(
        self, segments: list[Segment], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        inputs = self.batch_inputs(segments)
        if not any(spans):
            pooled = self.embed_inputs(inputs).cpu().numpy()
            return pooled, [np.zeros((0, self.dimension), dtype=np.float32) for _ in segments]
        hidden = self.token_states(inputs)
        pooled = self.finish(pool(hidden, inputs["attention_mask"], self.pooling)).cpu().numpy()
        longest = inputs["input_ids"].shape[1]
        left = getattr(self.tokenizer, "padding_side", "right") == "left"
        rows, means = [], []
        for row, (seg, row_spans) in enumerate(zip(segments, spans)):
            shift = longest - len(seg.input_ids) if left else 0
            for begin, end in row_spans:
                means.append(hidden[row, shift + begin : shift + end].mean(dim=0))
            rows.append(len(row_spans))
        vectors = self.finish(torch.stack(means)).cpu().numpy() if means else np.zeros((0, self.dimension))
        bounds = np.cumsum([0] + rows)
        return pooled, [vectors[bounds[i] : bounds[i + 1]].astype(np.float32) for i in range(len(segments))]

    def batch_inputs(self, segments: list[Segment]) -> dict[str, torch.Tensor]:
        """Model inputs for one batch of segments: ``input_ids``, ``attention_mask``, ``position_ids`` (and
        ``token_type_ids`` for models that take them), each of shape (n, longest), padded on the tokenizer's
        ``padding_side``, on the encoder's device."""
        longest = max(len(s.input_ids) for s in segments)
        pad_id = self.tokenizer.pad_token_id or 0
        n = len(segments)
        input_ids = torch.full((n, longest), pad_id, dtype=torch.long)
        position_ids = torch.zeros((n, longest), dtype=torch.long)
        mask = torch.zeros((n, longest), dtype=torch.long)
        left = getattr(self.tokenizer, "padding_side", "right") == "left"  # e.g. Qwen3-Embedding
        for row, seg in enumerate(segments):
            length = len(seg.input_ids)
            real = slice(longest - length, longest) if left else slice(0, length)
            input_ids[row, real] = torch.tensor(seg.input_ids)
            position_ids[row] = seg.position_ids[0] if left else seg.position_ids[-1]
            position_ids[row, real] = torch.tensor(seg.position_ids)
            mask[row, real] = 1
        inputs = {
            "input_ids": input_ids.to(self.device),
            "attention_mask": mask.to(self.device),
            "position_ids": position_ids.to(self.device),
        }
        if self._takes_token_type_ids:
            inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
        return inputs

    def embed_inputs(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Forward → pool → Dense head → L2-normalise for :meth:`batch_inputs`; float32, shape (n, d).

        Runs with autograd when the caller allows it (position tuning trains through it)."""
        return self.finish(pool(self.token_states(inputs), inputs["attention_mask"], self.pooling))

    def token_states(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The model's last hidden states for :meth:`batch_inputs`, float32, shape (n, longest, hidden size)."""
        return self.model(**inputs).last_hidden_state.float()

    def finish(self, pooled: torch.Tensor) -> torch.Tensor:
        """Pooled token states (shape (n, hidden size)) → Dense head (if any) → L2-normalised, shape (n, d)."""
        if self.head is not None:
            pooled = self.head(pooled)
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled


def _char_groups(texts: list[str], max_chars: int) -> Iterator[list[str]]:
    """``texts`` in order, cut into consecutive groups of at most ``max_chars`` characters (a longer text alone)."""
    group: list[str] = []
    size = 0
    for text in texts:
        if group and size + len(text) > max_chars:
            yield group
            group, size = [], 0
        group.append(text)
        size += len(text)
    if group:
        yield group


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, pooling: Pooling) -> torch.Tensor:
    """Pool token states into one vector per input.

    Args:
        hidden: last hidden states, shape (batch, length, d).
        attention_mask: 1 for real tokens, 0 for padding (right or left), shape (batch, length).
        pooling: ``mean`` over real tokens, ``cls`` (first real token) or ``lasttoken`` (last real token).

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
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
