"""What every context-window extension strategy shares.

Notation follows the LongEmbed paper (Zhu et al. 2024, arXiv 2404.12096, §4): L_o is the model's original
context length in tokens, L_t the target length, L the length of one input, s a scaling factor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from longembed.errors import ExtensionError

PositionKind = Literal["ape", "rope"]
"""``ape``: learned absolute position embeddings (BERT, RoBERTa); ``rope``: rotary position embeddings."""


@dataclass(frozen=True)
class ModelPositions:
    """The position encoding of a loaded model.

    Attributes:
        kind: ``"ape"``, ``"rope"``, or ``None`` when neither was recognised (no extension possible).
        original_length: L_o, the number of positions the model was trained with (tokens).
        offset: the first position id; 0 for BERT, ``padding_idx + 1`` for RoBERTa/XLM-R.
    """

    kind: PositionKind | None
    original_length: int
    offset: int = 0


@dataclass(frozen=True)
class Framing:
    """Special tokens put around every model input (e.g. BERT's ``[CLS] ... [SEP]``)."""

    prefix: tuple[int, ...]
    suffix: tuple[int, ...]

    @property
    def n_special(self) -> int:
        return len(self.prefix) + len(self.suffix)

    def wrap(self, content_ids: list[int]) -> list[int]:
        return [*self.prefix, *content_ids, *self.suffix]


@dataclass(frozen=True)
class Segment:
    """One model input: token ids and the absolute position ids to feed with them (same length)."""

    input_ids: list[int]
    position_ids: list[int]


class Extender:
    """A context-window extension strategy (one per method, registered by ``name``).

    Subclasses set ``name``, ``applies_to`` and, when they take parameters, ``param_types``
    (name -> type) and ``param_defaults``; they override :meth:`relative_position_ids` and, when the method
    changes the model or splits the input, :meth:`prepare_model` and :meth:`segments`.

    Args:
        positions: the model's position encoding.
        framing: the special tokens of the model's tokenizer.
        max_length: the longest input kept, in tokens including special tokens (L_t for ``pi``).
        params: method parameters, validated against ``param_types``.

    Raises:
        ExtensionError: the model's position encoding is not one the method applies to, or a parameter
            is unknown or of the wrong type.
    """

    name: ClassVar[str]
    applies_to: ClassVar[frozenset[str]]
    param_types: ClassVar[dict[str, type]] = {}
    param_defaults: ClassVar[dict[str, Any]] = {}
    summary: ClassVar[str] = ""

    def __init__(
        self,
        positions: ModelPositions,
        framing: Framing,
        max_length: int,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.positions = positions
        self.framing = framing
        self.max_length = max_length
        self.params = self.validate_params(params or {})
        if positions.kind not in self.applies_to:
            from longembed.extenders import methods_for  # registry lives in the package root

            kind = positions.kind or "unrecognised"
            raise ExtensionError(
                f"extension method {self.name!r} does not apply to a model with {kind} position encoding; "
                f"methods that do: {', '.join(methods_for(positions.kind))}"
            )
        if max_length <= framing.n_special:
            raise ExtensionError(
                f"max length {max_length} leaves no room for text next to {framing.n_special} special tokens"
            )

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(params) - set(cls.param_types))
        if unknown:
            valid = ", ".join(f"{k} ({t.__name__})" for k, t in cls.param_types.items()) or "none"
            raise ExtensionError(
                f"unknown parameter(s) {', '.join(unknown)} for extension method {cls.name!r}; valid: {valid}"
            )
        out = dict(cls.param_defaults)
        for key, value in params.items():
            want = cls.param_types[key]
            try:
                out[key] = want(value)
            except (TypeError, ValueError):
                raise ExtensionError(
                    f"parameter {key}={value!r} of {cls.name!r} must be of type {want.__name__}"
                ) from None
        return out

    @property
    def L_o(self) -> int:  # noqa: N802 - the paper's symbol
        return self.positions.original_length

    @property
    def content_limit(self) -> int:
        """How many content tokens (special tokens excluded) an input may keep before it is truncated."""
        return self.max_length - self.framing.n_special

    def prepare_model(self, model: Any) -> None:
        """Change the loaded model once, before any input (only methods that edit weights do)."""

    def relative_position_ids(self, length: int) -> list[int]:
        """Position ids, counted from 0, for one input of ``length`` tokens (special tokens included)."""
        return list(range(length))

    def segments(self, content_ids: list[int]) -> list[Segment]:
        """Turn one document's content token ids (already cut to :attr:`content_limit`) into model inputs.

        Returns a list of segments; their pooled embeddings are averaged into the document's embedding.
        """
        input_ids = self.framing.wrap(content_ids)
        offset = self.positions.offset
        return [Segment(input_ids, [offset + p for p in self.relative_position_ids(len(input_ids))])]
