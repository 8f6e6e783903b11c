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

from longembed.bench.data import load_tasks, make_splits
from longembed.bench.methods import known_methods, resolve_methods
from longembed.bench.metrics import evaluate
from longembed.bench.results import BenchRun, CellResult
from longembed.bench.runner import BenchConfig, run_bench
from longembed.bench.synthetic import make_needle, make_passkey, read_needles
from longembed.bench.tasks import TASKS

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
