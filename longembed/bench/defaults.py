"""Defaults of a bench run, derived from the registries and light to import (the command line shows them in
``--help`` without importing torch or qdrant-client)."""

from __future__ import annotations

from longembed.bench.tasks import TASKS
from longembed.settings import EXTEND_METHODS

DEFAULT_TASKS: tuple[str, ...] = tuple(TASKS)
"""Every task of :data:`longembed.bench.tasks.TASKS`, in LongEmbed's Table 3 order."""
CHUNKED_METHOD_NAMES: tuple[str, ...] = ("chunked-maxp", "chunked-mean")
"""The chunked baselines (:data:`longembed.bench.methods.CHUNKED_METHODS` maps each to the vector it searches)."""
DEFAULT_METHODS: tuple[str, ...] = (*(m for m in EXTEND_METHODS if m != "tuned"), *CHUNKED_METHOD_NAMES)
"""Every extension method and the chunked baselines; ``tuned`` is left out (it applies to tuned models only)."""
