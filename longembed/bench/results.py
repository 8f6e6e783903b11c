"""What a bench run produced: one :class:`CellResult` per method × scoring unit, gathered in a :class:`BenchRun`.

Plain data, imported by both :mod:`longembed.bench.runner` (which fills it) and :mod:`longembed.bench.summary` /
:mod:`longembed.bench.report` (which summarise and write it), so they depend on it and not on each other.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CellResult:
    """The scores and costs of one method on one scoring unit.

    Times in seconds, sizes in bytes (float32 vectors), lengths in tokens.

    Attributes:
        encode_seconds: time to embed this unit's documents, as measured when each was computed (cached
            documents count with their recorded time, so a resumed run reports the same cost).
        encode_seconds_this_run: time actually spent embedding in this run.
        tokens: document tokens the model read (after truncation at max length, or L_o for ``none``).
        index_vectors: vectors stored per named vector (``doc``; ``chunks`` for chunked-maxp and passage methods).
        localisation: ``loc@1`` in [0, 1] (:mod:`longembed.bench.localisation`), for passage methods on synthetic
            units with targets; else ``None``.
    """

    task: str
    kind: str
    context_length: int | None
    method: str
    collection: str
    n_queries: int
    n_documents: int
    total_queries: int
    total_documents: int
    metrics: dict[str, float]
    main_metric: str
    main_score: float
    encode_seconds: float
    encode_seconds_this_run: float
    documents_computed: int
    documents_cached: int
    tokens: int
    truncated_documents: int
    index_vectors: dict[str, int]
    index_bytes: int
    search_seconds: float
    localisation: float | None = None


@dataclass
class BenchRun:
    """A finished (or partial) run: config, environment, per-cell results, what was skipped."""

    config: dict[str, Any]
    environment: dict[str, Any]
    methods: dict[str, dict[str, Any]]
    data_sources: dict[str, str]
    missing: list[dict[str, Any]] = field(default_factory=list)
    skipped_methods: list[dict[str, str]] = field(default_factory=list)
    results: list[CellResult] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)
    complete: bool = False

    def to_dict(self, summary: dict[str, Any] | None = None) -> dict[str, Any]:
        """Every field as plain JSON types; ``summary`` (from :func:`longembed.bench.summary.summarise`) goes
        before the cells when given."""
        return {
            "complete": self.complete,
            "config": self.config,
            "model": self.model,
            "environment": self.environment,
            "methods": self.methods,
            "data_sources": self.data_sources,
            "missing": self.missing,
            "skipped_methods": self.skipped_methods,
            **({"summary": summary} if summary is not None else {}),
            "results": [asdict(r) for r in self.results],
        }
