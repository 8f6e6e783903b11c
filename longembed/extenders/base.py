"""What every context-window extension method (extender) shares.

Notation follows the LongEmbed paper (Zhu et al. 2024, arXiv 2404.12096, §4): L_o is the model's original
context length in tokens, L_t the target length, L the length of one input, s a scaling factor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from longembed.errors import ExtensionError

PositionKind = Literal["ape", "rope", "tuned"]
"""``ape``: learned absolute position embeddings (BERT, RoBERTa); ``rope``: rotary position embeddings;
``tuned``: an APE table extended to L_t rows by ``longembed tune`` (only the ``tuned`` method applies)."""


@dataclass(frozen=True)
class ModelPositions:
    """The position encoding of a loaded model.

    Attributes:
        kind: ``"ape"``, ``"rope"``, ``"tuned"``, or ``None`` when none was recognised (no extension possible).
        original_length: L_o, the number of positions the model was trained with (tokens); for a tuned
            model the base model's L_o.
        offset: the first position id; 0 for BERT, ``padding_idx + 1`` for RoBERTa/XLM-R.
        table_length: tuned models only: rows of the tuned table (L_t, offset excluded).
        tuned_layout: tuned models only: ``pi`` or ``rp`` (see :mod:`longembed.extenders.tuned_positions`).
    """

    kind: PositionKind | None
    original_length: int
    offset: int = 0
    table_length: int | None = None
    tuned_layout: str | None = None


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
    """One model input: token ids and the absolute position ids to feed with them (same length).

    ``variant`` names how the model must be set up for this input (``""``: as prepared); the encoder never
    batches segments of different variants together and runs each batch inside
    :meth:`Extender.forward_context`. It lets a method decide per input, never per batch (e.g. RoPE scaling
    only for inputs longer than L_o).
    """

    input_ids: list[int]
    position_ids: list[int]
    variant: str = ""


TRUE_WORDS = {"true", "1", "yes", "on"}
FALSE_WORDS = {"false", "0", "no", "off"}


def scale_factor(length: int, original_length: int) -> int:
    """The integer scaling factor s = ⌈L / L_o⌉ (1 when ``length`` ≤ L_o), both in tokens (LongEmbed §4.2).

    The one place s is derived: from L_t for ``pi``, the RoPE methods' default ``factor`` and SelfExtend's
    default (w, g); from each input's own L for ``gp``.

    >>> scale_factor(4096, 512), scale_factor(300, 512), scale_factor(513, 512)
    (8, 1, 2)
    """
    return max(1, -(-length // original_length))


def parse_bool(value: Any) -> bool:
    """``true/false``, ``1/0``, ``yes/no``, ``on/off`` (any case), or a bool.

    Raises:
        ValueError: anything else.
    """
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(value)


COMMON_PARAM_TYPES: dict[str, type] = {"attn_scale": bool}
"""Parameters every method takes. ``attn_scale``: multiply attention logits of global layers by
max(1, log L / log L_o) for inputs of L > L_o tokens (LongEmbed Appendix B); off by default."""


class Extender:
    """A context-window extension method for one kind of position encoding (registered by ``name``).

    Subclasses set ``name`` and, when they take parameters, ``param_types``
    (name -> type), ``param_defaults`` (``None``: derived from L_t and L_o when the extender is built) and
    ``param_ranges`` (name -> (lowest, highest), inclusive, ``None`` for no bound); they override
    :meth:`relative_position_ids` and, when the method changes the model or splits the input,
    :meth:`prepare_model` (calling ``super()``), :meth:`segments` and :meth:`forward_context`.
    Every method also takes the parameters of :data:`COMMON_PARAM_TYPES`.

    Args:
        positions: the model's position encoding.
        framing: the special tokens of the model's tokenizer.
        max_length: the longest input kept, in tokens including special tokens (L_t for ``pi``).
        params: method parameters, validated against ``param_types``.

    Raises:
        ExtensionError: a parameter is unknown or of the wrong type, or ``max_length`` leaves no room for text.
            (Which position encodings a method applies to is :data:`longembed.extenders.EXTENDERS`'s business:
            :func:`longembed.extenders.build_extender` checks it.)
    """

    name: ClassVar[str]
    param_types: ClassVar[dict[str, type]] = {}
    param_defaults: ClassVar[dict[str, Any]] = {}
    param_ranges: ClassVar[dict[str, tuple[float | None, float | None]]] = {}
    summary: ClassVar[str] = ""
    attention: Any = None  # AttentionControl once prepare_model installed the longembed attention

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
        if max_length <= framing.n_special:
            raise ExtensionError(
                f"max length {max_length} leaves no room for text next to {framing.n_special} special tokens"
            )

    @classmethod
    def all_param_types(cls) -> dict[str, type]:
        """The method's own parameters followed by the common ones (name -> type)."""
        return {**cls.param_types, **COMMON_PARAM_TYPES}

    @classmethod
    def validate_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Check names, convert values to their types, check ranges and fill defaults.

        Raises:
            ExtensionError: unknown name (the message lists the valid ones with their types), a value that
                does not convert, or one out of range.
        """
        types = cls.all_param_types()
        unknown = sorted(set(params) - set(types))
        if unknown:
            valid = ", ".join(f"{k} ({t.__name__})" for k, t in types.items()) or "none"
            raise ExtensionError(
                f"unknown parameter(s) {', '.join(unknown)} for extension method {cls.name!r}; valid: {valid}"
            )
        out: dict[str, Any] = {k: None for k in cls.param_types}
        out.update(cls.param_defaults)
        out.setdefault("attn_scale", False)
        for key, value in params.items():
            want = types[key]
            try:
                out[key] = parse_bool(value) if want is bool else want(value)
            except (TypeError, ValueError):
                raise ExtensionError(
                    f"parameter {key}={value!r} of {cls.name!r} must be of type {want.__name__}"
                ) from None
            low, high = cls.param_ranges.get(key, (None, None))
            if (low is not None and out[key] < low) or (high is not None and out[key] > high):
                bounds = f"{'-inf' if low is None else low} .. {'inf' if high is None else high}"
                raise ExtensionError(f"parameter {key}={value!r} of {cls.name!r} must lie in {bounds}")
        return out

    def effective_params(self) -> dict[str, Any]:
        """The parameters as this extender uses them, defaults derived from L_t and L_o filled in.

        Raises:
            ExtensionError: a default cannot be derived (e.g. ntk's λ for s > 8).
        """
        return dict(self.params)

    @property
    def L_o(self) -> int:  # noqa: N802 - the paper's symbol
        return self.positions.original_length

    @property
    def content_limit(self) -> int:
        """How many content tokens (special tokens excluded) an input may keep before it is truncated."""
        return self.max_length - self.framing.n_special

    def prepare_model(self, model: Any) -> None:
        """Change the loaded model once, before any input (only methods that edit the model do).

        Installs the ``longembed`` attention when ``attn_scale`` is on; subclasses call ``super()``.
        """
        if self.params.get("attn_scale"):
            from longembed.extenders.attention import install

            self.attention = install(model)

    @contextlib.contextmanager
    def forward_context(self, segments: list[Segment]) -> Iterator[None]:
        """Set the model up for one forward pass over ``segments`` (one batch of one variant), then undo it.

        The base sets each row's attention-logit factor max(1, log L / log L_o) when ``attn_scale`` is on.
        """
        if self.attention is None or not self.params.get("attn_scale"):
            yield
            return
        import torch

        from longembed.extenders.attention import attention_scale

        self.attention.row_scale = torch.tensor(
            [attention_scale(len(s.input_ids), self.L_o) for s in segments], dtype=torch.float32
        )
        try:
            yield
        finally:
            self.attention.reset()

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
