"""The encoder: one facade over the stages of the data path for a loaded model (see :mod:`longembed.models`):
prepare (:mod:`~longembed.encoding.prepare`: prefix, clip, tokenize, extender segments, passage plans) → forward
(:mod:`~longembed.encoding.forward`: token-budget batches, padding; hidden states (B, L, D)) → pool
(:mod:`~longembed.encoding.pooling`: over the mask or over spans, Dense head, L2 norm). It knows nothing of files
or Qdrant.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from longembed.encoding.forward import batch_inputs, token_budget_batches
from longembed.encoding.pooling import embed_pooled, pool, span_means
from longembed.encoding.prepare import PreparedTexts, Preparer
from longembed.errors import LongEmbedError
from longembed.extenders import Extender, Segment, build_extender
from longembed.models.device import default_batch_tokens, pick_device, pick_dtype
from longembed.models.loading import load_model
from longembed.models.paths import with_model_defaults
from longembed.models.quantization import quantize_int8
from longembed.models.sentence_transformers_folder import Pooling
from longembed.settings import IndexSettings, RunOptions, TextKind

log = logging.getLogger(__name__)


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
        passage_vectors: float32, shape (n_passages, d), L2-normalised: one vector per entry of
            ``PreparedTexts.passage_refs`` (``None`` when the text was prepared without passages).
    """

    vector: np.ndarray
    n_tokens: int
    truncated: bool
    n_segments: int
    segment_vectors: np.ndarray | None = None
    passage_vectors: np.ndarray | None = None


class Encoder:
    """A Hugging Face model + tokenizer + pooling + one context-window extender.

    The pooled vector goes through the Dense layers of a sentence-transformers folder, then is L2-normalised.
    Unset prefixes (``None``) become the model's own prompts (:func:`~longembed.models.paths.with_model_defaults`);
    :attr:`settings` holds the resolved ones. Implements :class:`~longembed.encoding.protocol.EncoderProtocol`.

    Args:
        settings: model, extension method and parameters, max length, prefixes, passages.
        model_path: the model's folder when the caller has already resolved the model and its defaults into
            ``settings`` (:func:`~longembed.models.paths.with_model_defaults`, as an ingest does); ``settings`` are
            then used as they are. ``None``: both are resolved here.
        run: device, weight dtype and padded tokens per forward pass (:class:`~longembed.settings.RunOptions`);
            the model is cast to the dtype after the extender has prepared it (so ``pi`` interpolates in
            float32); embeddings are always float32. Settings with ``quantization="int8"`` run float32
            activations over int8 linear layers on the CPU (``device="auto"`` means the CPU for them). An input
            longer than the token budget gets a batch alone.

    Raises:
        ModelLoadError: the model or tokenizer cannot be loaded.
        LongEmbedError: unknown ``device`` or ``dtype``, ``cuda`` without a GPU, ``batch_tokens`` < 1, int8 on
            a GPU, or ``dtype="int8"`` for settings without int8 quantization.
        ExtensionError: the extension method is unknown, badly parameterised, or does not fit the model.
    """

    def __init__(self, settings: IndexSettings, run: RunOptions | None = None, model_path: str | None = None) -> None:
        run = run or RunOptions()
        if settings.quantization == "int8" or run.dtype == "int8":
            if run.dtype == "int8" and settings.quantization != "int8":
                raise LongEmbedError(
                    "--dtype int8 is chosen when a collection is ingested (it is recorded there); this one was "
                    "built with float weights: leave --dtype at auto"
                )
            run = replace(run, device="cpu" if run.device == "auto" else run.device, dtype="float32")
        elif settings.quantization == "bfloat16":  # recorded: queries run the weights the vectors were made with
            run = replace(run, dtype="bfloat16")
        self.device = pick_device(run.device)
        self.dtype = pick_dtype(run.dtype, self.device)
        if run.batch_tokens is not None and run.batch_tokens < 1:
            raise LongEmbedError(f"batch tokens must be at least 1, got {run.batch_tokens}")
        self.batch_tokens = run.batch_tokens if run.batch_tokens is not None else default_batch_tokens(self.device)
        self.forward_gate: contextlib.AbstractContextManager = contextlib.nullcontext()
        """Held for each forward batch (and only then); a server sets its :class:`~longembed.serve.fair.FairGate`."""
        self.interruptible = False
        """True during a forward pass that runs the model as prepared (segments of the default variant, no
        attention scaling): another forward may run between its layers (see :func:`~longembed.serve.fair.share_device`)."""
        loaded = load_model(settings.model, self.device, model_path)
        self.model_path = loaded.path
        resolved = model_path is not None  # the caller resolved the defaults with the path
        self.settings = settings if resolved else with_model_defaults(settings, loaded.folder, loaded.path)
        self.pooling: Pooling = loaded.folder.pooling
        self.normalize = True  # longembed always stores L2-normalised vectors (cosine = dot product)
        self.tokenizer, self.model, self.head = loaded.tokenizer, loaded.model, loaded.head
        self.positions, self.framing, self.dimension = loaded.positions, loaded.framing, loaded.dimension
        self.extender: Extender = build_extender(
            self.settings.extend, self.positions, self.framing, self.settings.max_length, self.settings.extend_params
        )
        self.extender.prepare_model(self.model)
        self.model.to(dtype=self.dtype)
        if self.settings.quantization == "int8":
            self.model = quantize_int8(self.model, self.device)
        self._takes_token_type_ids = "token_type_ids" in inspect.signature(self.model.forward).parameters
        self._left_padded = getattr(self.tokenizer, "padding_side", "right") == "left"  # e.g. Qwen3-Embedding
        self.preparer = Preparer(self.tokenizer, self.extender, self.settings)
        self.on_forward: Callable[[list[int]], None] | None = None
        """Called after every forward pass with the length in tokens of each input it ran (padding excluded), e.g.
        by the ingest progress bar; ``None``: nothing is called."""

    @property
    def original_length(self) -> int:
        """L_o, the model's original context length in tokens."""
        return self.positions.original_length

    @property
    def token_limit(self) -> int:
        """Tokens kept per text, special tokens included (``max_length``, or L_o for ``none``)."""
        return self.preparer.token_limit

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Content token ids of each text, no special tokens, no truncation (thread-safe; see :class:`Preparer`)."""
        return self.preparer.tokenize(texts)

    def prepare(
        self, texts: list[str], kind: TextKind = "document", clip: bool = False,
        passages: IndexSettings | None = None,
    ) -> PreparedTexts:
        """Tokenize and split into model inputs (:meth:`Preparer.prepare`); with ``passages`` (the settings of the
        collection the documents go to) whose ``passages`` is not ``none``, documents also get their passages
        (:meth:`Preparer.prepare_with_passages`) and are not clipped: their passages need the whole text. No
        model; safe to call from another thread."""
        if passages is not None and passages.has_passages:
            return self.preparer.prepare_with_passages(texts, passages)
        return self.preparer.prepare(texts, kind, clip=clip)

    def encode(self, texts: list[str], kind: TextKind = "document", keep_segments: bool = False) -> list[Embedded]:
        """Embed ``texts`` (queries or whole documents), in input order: :meth:`prepare`, then
        :meth:`encode_prepared`.

        Args:
            keep_segments: also return each model input's own vector (``Embedded.segment_vectors``, e.g. the
                L_o-token windows of ``pcw``, which the chunked MaxP baseline stores as a multivector).

        Returns:
            one :class:`Embedded` per text; vectors have shape (d,), d = :attr:`dimension`.
        """
        return self.encode_prepared(self.prepare(texts, kind), keep_segments=keep_segments)

    def encode_prepared(self, prepared: PreparedTexts, keep_segments: bool = False) -> list[Embedded]:
        """Embed texts made ready by :meth:`prepare` (each text's vector: the normalised mean of its segments'
        pooled vectors); texts prepared with passages (:meth:`Preparer.prepare_with_passages`) also get
        ``passage_vectors``, from the same forward passes."""
        ids, plans = prepared.token_ids, prepared.plans
        extra = prepared.extra or [[] for _ in ids]
        owner = [doc for doc, segs in enumerate(plans) for _ in segs]
        flat = [seg for segs in plans for seg in segs]
        starts = np.cumsum([0] + [len(p) for p in plans])
        extra_starts = len(flat) + np.cumsum([0] + [len(e) for e in extra])
        flat += [seg for segs in extra for seg in segs]

        def flat_index(doc: int, seg: int) -> int:
            own = len(plans[doc])
            return int(starts[doc] + seg) if seg < own else int(extra_starts[doc] + seg - own)

        spans: list[list[tuple[int, int]]] = [[] for _ in flat]
        for doc, doc_refs in enumerate(prepared.passage_refs or []):
            for seg, begin, end in doc_refs:
                if begin >= 0:
                    spans[flat_index(doc, seg)].append((begin, end))
        pooled, span_vectors = self._encode_segments(flat, spans)
        sums = np.zeros((len(ids), self.dimension), dtype=np.float32)
        np.add.at(sums, owner, pooled[: len(owner)])
        if prepared.kind == "query":  # documents are reported by the ingest step, which names the file
            self._warn_truncated_queries(ids)
        out: list[Embedded] = []
        for doc, x in enumerate(ids):
            vec = sums[doc] / len(plans[doc])
            norm = float(np.linalg.norm(vec))
            passages = None
            if prepared.passage_refs is not None:
                taken: dict[int, int] = {}  # next unread span vector of each of this text's segments
                rows = []
                for seg, begin, _ in prepared.passage_refs[doc]:
                    i = flat_index(doc, seg)
                    if begin < 0:
                        rows.append(pooled[i])
                    else:
                        rows.append(span_vectors[i][taken.get(i, 0)])
                        taken[i] = taken.get(i, 0) + 1
                passages = np.array(rows, dtype=np.float32).reshape(len(rows), self.dimension)
            out.append(
                Embedded(
                    vector=vec / norm if norm > 0 else vec,
                    n_tokens=len(x) + self.framing.n_special,
                    truncated=len(x) > self.preparer.content_limit,
                    n_segments=len(plans[doc]),
                    segment_vectors=pooled[starts[doc] : starts[doc + 1]].copy() if keep_segments else None,
                    passage_vectors=passages,
                )
            )
        return out

    def _warn_truncated_queries(self, ids: list[list[int]]) -> None:
        for x in ids:
            if len(x) > self.preparer.content_limit:
                log.warning(
                    "query of %d tokens truncated to %d (--extend %s, L_o = %d)",
                    len(x) + self.framing.n_special, self.token_limit, self.settings.extend, self.original_length,
                )

    def _encode_segments(
        self, segments: list[Segment], spans: list[list[tuple[int, int]]] | None = None
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Pooled (and, per segment, normalised) embeddings, shape (len(segments), d), in input order, and per
        segment the normalised mean token states of each of its ``spans`` (positions in its ``input_ids``),
        shape (len(spans[i]), d), through the Dense head like the pooled vector."""
        spans = spans if spans is not None else [[] for _ in segments]
        result = np.zeros((len(segments), self.dimension), dtype=np.float32)
        span_out = [np.zeros((len(s), self.dimension), dtype=np.float32) for s in spans]
        for batch in token_budget_batches(segments, self.batch_tokens):
            pooled, by_row = self._forward([segments[j] for j in batch], [spans[j] for j in batch])
            result[batch] = pooled
            for j, vectors in zip(batch, by_row):
                span_out[j] = vectors
        return result, span_out

    def _forward(
        self, segments: list[Segment], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Pooled embeddings of one batch of segments of one variant (and their span vectors, see
        :meth:`_encode_segments`), inside the extender's forward context, holding :attr:`forward_gate` (one piece
        of work on the device); :attr:`on_forward` then gets the length of each input in tokens."""
        with self.forward_gate, self.extender.forward_context(segments):
            outer, self.interruptible = self.interruptible, (
                not segments[0].variant and not self.extender.params.get("attn_scale")
            )
            try:
                out = self._forward_batch(segments, spans)
            finally:
                self.interruptible = outer
        if self.on_forward is not None:
            self.on_forward([len(s.input_ids) for s in segments])
        return out

    @torch.inference_mode()
    def _forward_batch(
        self, segments: list[Segment], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        inputs = self.batch_inputs(segments)
        hidden = self.token_states(inputs)
        pooled = pool(hidden, inputs["attention_mask"], self.pooling, in_place=True)  # hidden: ours, no autograd
        pooled = self.embed_pooled(pooled).cpu().numpy()
        counts = [len(s) for s in spans]
        vectors = np.zeros((0, self.dimension), dtype=np.float32)
        if any(counts):
            means = span_means(hidden, [len(s.input_ids) for s in segments], spans, self._left_padded)
            vectors = self.embed_pooled(means).cpu().numpy().astype(np.float32)
        bounds = np.cumsum([0] + counts)
        return pooled, [vectors[bounds[i] : bounds[i + 1]] for i in range(len(segments))]

    def batch_inputs(self, segments: list[Segment]) -> dict[str, torch.Tensor]:
        """Model inputs of one batch (:func:`~longembed.encoding.forward.batch_inputs`), shape (n, longest) each."""
        pad_id = self.tokenizer.pad_token_id or 0
        return batch_inputs(segments, pad_id, self._left_padded, self._takes_token_type_ids, self.device)

    def embed_inputs(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Forward → pool → Dense head → L2-normalise for :meth:`batch_inputs`; float32, shape (n, d).

        Runs with autograd when the caller allows it (position tuning trains through it)."""
        return self.embed_pooled(pool(self.token_states(inputs), inputs["attention_mask"], self.pooling))

    def token_states(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """The model's last hidden states for :meth:`batch_inputs`, float32, shape (n, longest, hidden size)
        (sentence-transformers' ``token_embeddings``)."""
        return self.model(**inputs).last_hidden_state.float()

    def embed_pooled(self, pooled: torch.Tensor) -> torch.Tensor:
        """Pooled token states (shape (n, hidden size)) → Dense head (if any) → L2-normalised, shape (n, d)."""
        return embed_pooled(pooled, self.head, self.normalize)
