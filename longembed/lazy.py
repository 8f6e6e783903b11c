"""Package attributes imported on first use (PEP 562), so that a package's light modules (readers, limits,
passages, task metadata) can be imported without the heavy ones (torch, qdrant-client) its public names need."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def by_name(modules: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """``{module: (name, ...)}`` (a package's public names, grouped by the module that defines them) as the
    ``{name: module}`` that :func:`lazy_exports` takes."""
    return {name: module for module, names in modules.items() for name in names}


def lazy_exports(package: str, exports: dict[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: public name -> the module that defines it, imported when the name
    is first used.

    Raises (from the returned function):
        AttributeError: a name ``exports`` does not list.
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    return __getattr__
