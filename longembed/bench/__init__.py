"""Benchmarks on the LongEmbed tasks (Zhu et al. 2024, arXiv 2404.12096), run through the real index.

- :mod:`~longembed.bench.tasks`: the six tasks as metadata (kind, label, main metric);
- :mod:`~longembed.bench.data`: loading a LongEmbed-format directory or the hub dataset;
- :mod:`~longembed.bench.task_data`: a loaded task, and its scoring units (splits per length);
- :mod:`~longembed.bench.synthetic`: passkey and needle generators (§3.2);
- :mod:`~longembed.bench.methods`: extenders and the chunked baselines (``chunked-maxp``, ``chunked-mean``);
- :mod:`~longembed.bench.cache`: the on-disk embedding cache;
- :mod:`~longembed.bench.metrics`: nDCG@1, nDCG@10, Recall@10 with pytrec_eval;
- :mod:`~longembed.bench.runner`: ingest -> Qdrant -> retriever -> metrics for every method and split;
- :mod:`~longembed.bench.summary`: a run's scores, cost and localisation summed up from its cells;
- :mod:`~longembed.bench.report`: the report folder: results.json, then report.md
  (:mod:`~longembed.bench.report_markdown`) and synthetic.png (:mod:`~longembed.bench.plot`).

>>> from longembed.bench import BenchConfig, run_bench
>>> run = run_bench(BenchConfig(tasks=["passkey"], lengths=[256, 512], methods=["none", "pi"],
...                             data="data/longembed", limit=10, out="bench-out"))  # doctest: +SKIP
"""

from longembed.lazy import by_name, lazy_exports

_EXPORTS = by_name({
    "longembed.bench.tasks": ("TASKS",),
    "longembed.bench.runner": ("BenchConfig", "run_bench"),
    "longembed.bench.results": ("BenchRun", "CellResult"),
    "longembed.bench.metrics": ("evaluate",),
    "longembed.bench.methods": ("known_methods", "resolve_methods"),
    "longembed.bench.data": ("load_tasks",),
    "longembed.bench.synthetic": ("make_needle", "make_passkey", "read_needles"),
    "longembed.bench.task_data": ("make_splits",),
})
"""Public name -> module; imported on first use (PEP 562), so ``longembed.bench.tasks`` and
``longembed.bench.defaults`` stay light for the command line."""
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
