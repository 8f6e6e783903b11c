"""What longembed sees in a model: family, position encoding, L_o, dimensions, pooling, prefixes, and the
extension methods that apply with their defaults (``longembed models inspect MODEL``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from longembed.errors import ExtensionError
from longembed.extenders import build_extender, extender_class, methods_for
from longembed.extenders.rope_scaling import rope_parameters, rotary_tables
from longembed.settings import DEFAULT_MAX_LENGTH, IndexSettings
from longembed.settings import RunOptions

POSITION_KINDS = {
    "ape": "APE (learned absolute position embeddings)",
    "rope": "RoPE (rotary position embeddings)",
    None: "not recognised (only `none` applies)",
}


@dataclass(frozen=True)
class MethodInfo:
    """One extension method that applies to the model.

    Attributes:
        name: the ``--extend`` name.
        summary: one line on what it does.
        defaults: its parameters with the defaults derived for ``max_length`` (``None``: see ``error``).
        error: why the defaults cannot be derived (e.g. ntk's λ for s > 8), else ``None``.
    """

    name: str
    summary: str
    defaults: dict[str, Any] | None
    error: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    """A model as longembed uses it. Lengths in tokens."""

    model: str
    path: str
    family: str
    architecture: str
    position_encoding: str | None
    original_length: int
    position_offset: int
    rope_thetas: dict[str, float]
    hidden_size: int
    dimension: int
    dense_layers: list[str]
    pooling: str
    query_prefix: str
    document_prefix: str
    special_tokens: tuple[list[int], list[int]]
    max_length: int
    methods: list[MethodInfo] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


def inspect_model(model: str, max_length: int = DEFAULT_MAX_LENGTH, device: str = "cpu") -> ModelInfo:
    """Load ``model`` (weights included) and describe it; method defaults are those for ``max_length`` (L_t).

    Raises:
        ModelLoadError: the model cannot be loaded.
        LongEmbedError: a bad ``max_length``.
    """
    from longembed.encoding import Encoder

    enc = Encoder(IndexSettings(model=model, extend="none", max_length=max_length), RunOptions(device=device))
    config = enc.model.config
    methods = []
    for name in methods_for(enc.positions.kind):
        cls = extender_class(name, enc.positions.kind)
        try:
            extender = build_extender(name, enc.positions, enc.framing, max_length, {})
            methods.append(MethodInfo(name, cls.summary, extender.effective_params()))
        except ExtensionError as exc:
            methods.append(MethodInfo(name, cls.summary, None, str(exc)))
    thetas: dict[str, float] = {}
    for table in rotary_tables(enc.model):
        theta = rope_parameters(config, table.layer_type).get("rope_theta")
        if theta is not None:
            thetas[table.layer_type or "all layers"] = float(theta)
    architectures = getattr(config, "architectures", None) or [type(enc.model).__name__]
    return ModelInfo(
        model=model,
        path=enc.model_path,
        family=str(getattr(config, "model_type", "") or "unknown"),
        architecture=architectures[0],
        position_encoding=enc.positions.kind,
        original_length=enc.original_length,
        position_offset=enc.positions.offset,
        rope_thetas=thetas,
        hidden_size=int(config.hidden_size),
        dimension=enc.dimension,
        dense_layers=[f"{d.config.in_features}->{d.config.out_features}" for d in (enc.head or [])],
        pooling=enc.pooling,
        query_prefix=enc.settings.query_prefix or "",
        document_prefix=enc.settings.document_prefix or "",
        special_tokens=(list(enc.framing.prefix), list(enc.framing.suffix)),
        max_length=max_length,
        methods=methods,
    )


def format_model_info(info: ModelInfo) -> str:
    """The human-readable report printed by ``longembed models inspect``."""
    thetas = ", ".join(f"{k} θ={v:g}" for k, v in info.rope_thetas.items())
    lines = [
        f"model:             {info.model}" + (f" ({info.path})" if info.path != info.model else ""),
        f"family:            {info.family} ({info.architecture})",
        f"position encoding: {POSITION_KINDS[info.position_encoding]}" + (f"; {thetas}" if thetas else ""),
        f"L_o:               {info.original_length} tokens"
        + (f" (position ids start at {info.position_offset})" if info.position_offset else ""),
        f"hidden size:       {info.hidden_size}",
        f"embedding dim:     {info.dimension}"
        + (f" (Dense layers {', '.join(info.dense_layers)})" if info.dense_layers else ""),
        f"pooling:           {info.pooling}",
        f"special tokens:    before {info.special_tokens[0]}, after {info.special_tokens[1]}",
        f"query prefix:      {info.query_prefix!r}",
        f"document prefix:   {info.document_prefix!r}",
        f"methods (defaults for --max-length {info.max_length}):",
    ]
    for method in info.methods:
        if method.defaults is None:
            params = f"[{method.error}]"
        else:
            params = " ".join(f"{k}={v}" for k, v in method.defaults.items())
        lines.append(f"  {method.name:<5} {params}")
        lines.append(f"        {method.summary}")
    return "\n".join(lines)
