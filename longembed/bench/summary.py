"""The summary of a bench run (results.json's ``summary``): scores per task and method, per context length, real
tasks' metrics, cost and passage localisation, summed up from the run's cells."""

from __future__ import annotations

import statistics
from typing import Any

from longembed.bench.localisation import summarise_localisation
from longembed.bench.results import BenchRun
from longembed.bench.tasks import TASKS


def _task_order(names: set[str]) -> list[str]:
    known = [t for t in TASKS if t in names]
    return known + sorted(names - set(known))


def summarise(run: BenchRun) -> dict[str, Any]:
    """Aggregate the cells of ``run``.

    Returns a dict with:
        ``tasks``: task names in Table 3 order; ``methods``: method names in run order;
        ``scores``: method -> task -> main score (synthetic: mean nDCG@1 over the scored lengths; real: nDCG@10),
        plus ``"avg"`` (mean over the tasks);
        ``per_length``: synthetic task -> method -> {length: nDCG@1};
        ``real``: real task -> method -> {metric: value};
        ``cost``: method -> encode seconds, seconds this run, tokens, tokens per second, index vectors and
        bytes, search seconds, queries (summed over the cells);
        ``localisation``: synthetic task -> passage method -> {length: loc@1} (see
        :mod:`longembed.bench.localisation`).
    """
    cells = run.results
    methods = list(dict.fromkeys(c.method for c in cells))
    tasks = _task_order({c.task for c in cells})
    scores: dict[str, dict[str, float]] = {}
    per_length: dict[str, dict[str, dict[int, float]]] = {}
    real: dict[str, dict[str, dict[str, float]]] = {}
    cost: dict[str, dict[str, float]] = {}
    for method in methods:
        mine = [c for c in cells if c.method == method]
        scores[method] = {}
        for task in tasks:
            task_cells = [c for c in mine if c.task == task]
            if not task_cells:
                continue
            scores[method][task] = statistics.fmean(c.main_score for c in task_cells)
            if task_cells[0].kind == "synthetic":
                per_length.setdefault(task, {})[method] = {c.context_length: c.main_score for c in task_cells}
            else:
                real.setdefault(task, {})[method] = dict(task_cells[0].metrics)
        if scores[method]:
            scores[method]["avg"] = statistics.fmean(v for k, v in scores[method].items())
        seconds = sum(c.encode_seconds for c in mine)
        tokens = sum(c.tokens for c in mine)
        cost[method] = {
            "encode_seconds": seconds,
            "encode_seconds_this_run": sum(c.encode_seconds_this_run for c in mine),
            "tokens": tokens,
            "tokens_per_second": tokens / seconds if seconds > 0 else None,
            "index_vectors": sum(sum(c.index_vectors.values()) for c in mine),
            "index_bytes": sum(c.index_bytes for c in mine),
            "search_seconds": sum(c.search_seconds for c in mine),
            "queries": sum(c.n_queries for c in mine),
        }
    return {"tasks": tasks, "methods": methods, "scores": scores, "per_length": per_length, "real": real, "cost": cost,
            "localisation": summarise_localisation(cells)}


def int_lengths(by_method: dict[str, dict[Any, float]]) -> dict[str, dict[int, float]]:
    """Context lengths as ints (JSON turns them into strings)."""
    return {m: {int(n): v for n, v in scores.items()} for m, scores in by_method.items()}
