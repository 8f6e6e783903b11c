"""The extender classes of the registered methods, imported (:data:`EXTENDERS`), and building the extender of a
method for a model (:func:`build_extender`); which method applies to which models is
:data:`longembed.extenders.registry.METHODS`'s business."""

from __future__ import annotations

import importlib
from typing import Any

from longembed.errors import ExtensionError
from longembed.extenders.base import Extender, Framing, ModelPositions, PositionKind
from longembed.extenders.registry import METHODS


def _load(name: str) -> type[Extender]:
    """The class ``"module:Class"`` names in :mod:`longembed.extenders`."""
    module, _, cls = name.partition(":")
    return getattr(importlib.import_module(f"longembed.extenders.{module}"), cls)


EXTENDERS: dict[str, dict[PositionKind | None, type[Extender]]] = {
    name: {kind: _load(cls) for kind, cls in method.classes.items()} for name, method in METHODS.items()
}
"""Extension method name -> position-encoding kind (``ape``, ``rope``, ``tuned``, ``None`` = unrecognised) -> its
:class:`Extender` class: :data:`~longembed.extenders.registry.METHODS` with the classes imported, in its order
(the keys are :data:`longembed.settings.EXTEND_METHODS`)."""


def methods_for(kind: PositionKind | None) -> list[str]:
    """Names of the methods that apply to a model with position encoding ``kind``."""
    return [name for name, per_kind in EXTENDERS.items() if kind in per_kind]


def extender_class(name: str, kind: PositionKind | None) -> type[Extender]:
    """The extender class of method ``name`` for position encoding ``kind``.

    Raises:
        ExtensionError: unknown method (lists the known ones) or one that does not apply to ``kind``
            (lists the methods that do).
    """
    try:
        per_kind = EXTENDERS[name]
    except KeyError:
        raise ExtensionError(
            f"unknown extension method {name!r}; known methods: {', '.join(EXTENDERS)}"
        ) from None
    if kind not in per_kind:
        raise ExtensionError(
            f"extension method {name!r} does not apply to a model with {kind or 'unrecognised'} position "
            f"encoding; methods that do: {', '.join(methods_for(kind))}"
        )
    return per_kind[kind]


def build_extender(
    name: str,
    positions: ModelPositions,
    framing: Framing,
    max_length: int,
    params: dict[str, Any] | None = None,
) -> Extender:
    """Instantiate the extender registered as ``name`` for the model's position encoding.

    Raises:
        ExtensionError: unknown method (the message lists the known ones), bad parameters, or a method
            that does not apply to the model's position encoding.
    """
    return extender_class(name, positions.kind)(positions, framing, max_length, params)
