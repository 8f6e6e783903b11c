"""Passage localisation on the synthetic tasks: does the best passage of the top document hold the fact asked for?

For the bench's passage methods (:mod:`longembed.bench.methods`) every search result names the document's best
passage (:func:`longembed.retrieve.passages.best_passages`). ``loc@1`` of a scoring unit is the share of its
queries whose top-1 document is relevant **and** whose best passage text contains the query's target:

- passkey: the 5-digit pass key of the person the query names (``what is the pass key for <name>?``), read from
  the relevant document's line ``<name>'s pass key is <key>.`` (:func:`longembed.bench.synthetic.passkey_line`;
  either sentence of that line that states the key counts);
- needle (and paraphrased needles): the needle sentence, whole, from the task's ``needles.jsonl``
  (:attr:`longembed.bench.task_data.TaskData.needles`; absent: the unit has no ``loc@1``).

Queries without a target (a real task, a needle task without ``needles.jsonl``, a target not found in its
document) are left out of the share; a unit with none has ``loc@1`` = ``None``. Unlike the ``loc`` column of
``docs/benchmarks/passages_grid.py`` (the share among queries whose document ranked first), ``loc@1`` counts
every query, so it is at most nDCG@1.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from longembed.bench.markdown import pct, table
from longembed.bench.results import CellResult
from longembed.bench.task_data import TaskSplit
from longembed.bench.tasks import task_info

METRIC = "loc@1"
PASSKEY_QUESTION = re.compile(r"pass key for (.+?)\s*\?\s*$", re.IGNORECASE)


def targets(split: TaskSplit) -> dict[str, str]:
    """qid -> the text its relevant document's best passage must contain (see the module docstring)."""
    texts = {d.doc_id: d.text for d in split.corpus}
    out: dict[str, str] = {}
    for query in split.queries:
        relevant = [texts[d] for d, r in split.qrels.get(query.qid, {}).items() if r > 0 and d in texts]
        if len(relevant) != 1:
            continue
        needle = split.needles.get(query.text.strip())
        named = PASSKEY_QUESTION.search(query.text)
        if needle is None and named is not None:
            key = re.search(re.escape(named.group(1)) + r"'s pass key is (\d+)", relevant[0])
            needle = key.group(1) if key else None
        if needle and needle in relevant[0]:
            out[query.qid] = needle
    return out


def localisation(
    split: TaskSplit, tops: Mapping[str, tuple[str, str | None]], wanted: Mapping[str, str] | None = None
) -> float | None:
    """``loc@1`` of ``split`` in [0, 1], or ``None`` when no query has a target.

    Args:
        tops: qid -> (path of the top-1 document, text of its best passage or ``None``); a query missing here
            (no result) counts as not localised.
        wanted: qid -> target text; default :func:`targets` of ``split``.
    """
    wanted = targets(split) if wanted is None else wanted
    if not wanted:
        return None
    hits = 0
    for qid, target in wanted.items():
        path, passage = tops.get(qid, ("", None))
        hits += split.qrels.get(qid, {}).get(path, 0) > 0 and passage is not None and target in passage
    return hits / len(wanted)


def summarise_localisation(cells: Sequence[CellResult]) -> dict[str, dict[str, dict[int, float]]]:
    """task -> method -> {context length: loc@1}, for the cells that have one (passage methods, synthetic tasks)."""
    out: dict[str, dict[str, dict[int, float]]] = {}
    for c in cells:
        if c.localisation is not None and c.context_length is not None:
            out.setdefault(c.task, {}).setdefault(c.method, {})[c.context_length] = c.localisation
    return out


def localisation_table(by_task: Mapping[str, Mapping[str, Mapping[Any, float]]]) -> list[str]:
    """Rows = passage methods, columns = task@length and each task's mean, ``loc@1`` ×100 (``summary["localisation"]``,
    lengths may be JSON strings)."""
    columns = sorted({(t, int(n)) for t, per in by_task.items() for m in per.values() for n in m},
                     key=lambda c: (list(by_task).index(c[0]), c[1]))
    methods = list(dict.fromkeys(m for per in by_task.values() for m in per))
    rows = []
    for m in methods:
        row = [m]
        for task, n in columns:
            scores = {int(k): v for k, v in by_task[task].get(m, {}).items()}
            row.append(pct(scores.get(n)))
        for task, per in by_task.items():
            scores = list(per.get(m, {}).values())
            row.append(pct(statistics.fmean(scores) if scores else None))
        rows.append(row)
    header = ["Method", *(f"{task_info(t).label}@{n}" for t, n in columns), *(f"{task_info(t).label} avg" for t in by_task)]
    return table(header, rows)
