"""Benchmarks on the LongEmbed tasks (Zhu et al. 2024, arXiv 2404.12096), run through the real index.

- :mod:`~longembed.bench.tasks`: the six tasks as metadata (kind, label, main metric);
- :mod:`~longembed.bench.data`: loading a LongEmbed-format directory or the hub dataset, splits per length;
- :mod:`~longembed.bench.synthetic`: passkey and needle generators (§3.2);
- :mod:`~longembed.bench.methods`: extenders and the chunked baselines (``chunked-maxp``, ``chunked-mean``);
- :mod:`~longembed.bench.cache`: the on-disk embedding cache;
- :mod:`~longembed.bench.metrics`: nDCG@1, nDCG@10, Recall@10 with pytrec_eval;
- :mod:`~longembed.bench.runner`: ingest -> Qdrant -> retriever -> metrics for every method and split;
- :mod:`~longembed.bench.report`: results.json, report.md, synthetic.png.

>>> from longembed.bench import BenchConfig, run_bench
>>> run = run_bench(BenchConfig(tasks=["passkey"], lengths=[256, 512], methods=["none", "pi"],
...                             data="data/longembed", limit=10, out="bench-out"))  # doctest: +SKIP
"""

import importlib
from typing import Any

_EXPORTS = {
    "TASKS": "tasks",
    "BenchConfig": "runner",
    "BenchRun": "results",
    "CellResult": "results",
    "evaluate": "metrics",
    "known_methods": "methods",
    "load_tasks": "data",
    "make_needle": "synthetic",
    "make_passkey": "synthetic",
    "make_splits": "data",
    "read_needles": "synthetic",
    "resolve_methods": "methods",
    "run_bench": "runner",
}
"""Public name -> submodule; imported on first use (PEP 562), so ``longembed.bench.tasks`` and
``longembed.bench.defaults`` stay light for the command line."""


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"longembed.bench.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'longembed.bench' has no attribute {name!r}")


__all__ = [
    "TASKS",
    "BenchConfig",
    "BenchRun",
    "CellResult",
    "evaluate",
    "known_methods",
    "load_tasks",
    "make_needle",
    "make_passkey",
    "make_splits",
    "read_needles",
    "resolve_methods",
    "run_bench",
]
