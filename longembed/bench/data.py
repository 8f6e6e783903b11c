"""Loading LongEmbed tasks: a LongEmbed-format directory, or the hub dataset ``dwzhu/LongEmbed``.

Directory format, one folder per task (the hub dataset has the same three splits and fields)::

    <DIR>/<task>/corpus.jsonl   {"doc_id": str, "text": str, ["context_length": int]}
    <DIR>/<task>/queries.jsonl  {"qid": str, "text": str, ["context_length": int]}
    <DIR>/<task>/qrels.jsonl    {"qid": str, "doc_id": str, ["context_length": int], ["score": int]}

Synthetic tasks carry ``context_length`` (tokens) on every row; qrels without ``score`` mean relevance 1. A needle
task's folder may also hold ``needles.jsonl`` (``{"needle", "question", ...}``, as ``make-needle`` writes it):
the needle sentence of each question, which the passage-localisation metric looks for
(:mod:`longembed.bench.localisation`).

A loaded task and the splits cut from it are :mod:`longembed.bench.task_data`'s (importable from here as before).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from longembed.bench.synthetic import read_needles
from longembed.bench.task_data import CorpusDocument, Query, TaskData, TaskSplit, make_splits, select_corpus
from longembed.bench.tasks import HUB_DATASET, task_info
from longembed.errors import BenchError, first_line

__all__ = [
    "NEEDLES_FILE", "TASK_FILES", "CorpusDocument", "LoadReport", "Query", "TaskData", "TaskSplit", "load_task_dir",
    "load_task_hub", "load_tasks", "make_splits", "select_corpus", "task_from_rows",
]

TASK_FILES = ("corpus.jsonl", "queries.jsonl", "qrels.jsonl")
NEEDLES_FILE = "needles.jsonl"


@dataclass
class LoadReport:
    """Loaded tasks, and the tasks or lengths that were asked for but are not there (with the reason)."""

    tasks: list[TaskData] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)


def _int_or_none(value: Any, where: str) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BenchError(f"{where}: context_length {value!r} is not a number of tokens") from None


def task_from_rows(
    name: str,
    source: str,
    corpus_rows: Iterable[dict[str, Any]],
    query_rows: Iterable[dict[str, Any]],
    qrel_rows: Iterable[dict[str, Any]],
) -> TaskData:
    """Build a :class:`TaskData` from the rows of the three splits (dicts as in the module docstring).

    Queries without a relevant document or without text are dropped (they cannot be scored).

    Raises:
        BenchError: a row lacks a required field, or a qrel names an unknown document.
    """
    try:
        corpus = [
            CorpusDocument(str(r["doc_id"]), str(r["text"]), _int_or_none(r.get("context_length"), f"{source} corpus"))
            for r in corpus_rows
        ]
        queries = [
            Query(str(r["qid"]), str(r["text"]), _int_or_none(r.get("context_length"), f"{source} queries"))
            for r in query_rows
        ]
        qrels: dict[str, dict[str, int]] = {}
        for r in qrel_rows:
            qrels.setdefault(str(r["qid"]), {})[str(r["doc_id"])] = int(r.get("score", 1))
    except KeyError as exc:
        raise BenchError(f"{source}: a row has no {exc.args[0]!r} field") from None
    if not corpus or not queries:
        raise BenchError(f"{source}: no {'documents' if not corpus else 'queries'}")
    doc_ids = {d.doc_id for d in corpus}
    unknown = sorted({d for rel in qrels.values() for d in rel} - doc_ids)
    if unknown:
        raise BenchError(f"{source}: qrels name {len(unknown)} unknown document(s), e.g. {unknown[0]!r}")
    synthetic = any(q.context_length is not None for q in queries)
    if synthetic and any(d.context_length is None for d in corpus):
        raise BenchError(f"{source}: queries carry context_length but some documents do not")
    judged = [q for q in queries if q.text.strip() and any(v > 0 for v in qrels.get(q.qid, {}).values())]
    return TaskData(task_info(name, synthetic), source, corpus, judged, qrels)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise BenchError(f"{path}:{number}: not JSON ({exc.msg})") from None
    return rows


def load_task_dir(task_dir: str | Path) -> TaskData:
    """Load one task folder (``corpus.jsonl``, ``queries.jsonl``, ``qrels.jsonl``); the folder name is the task.

    Raises:
        BenchError: a file (``needles.jsonl`` too, when present) is missing or malformed.
    """
    task_dir = Path(task_dir)
    missing = [f for f in TASK_FILES if not (task_dir / f).is_file()]
    if missing:
        raise BenchError(f"{task_dir} has no {', '.join(missing)}")
    corpus, queries, qrels = (_read_jsonl(task_dir / f) for f in TASK_FILES)
    task = task_from_rows(task_dir.name, f"dir:{task_dir.resolve()}", corpus, queries, qrels)
    if (task_dir / NEEDLES_FILE).is_file():
        task.needles = {n["question"].strip(): n["needle"].strip() for n in read_needles(task_dir / NEEDLES_FILE)}
    return task


def load_task_hub(name: str, revision: str | None = None) -> TaskData:
    """Load one task from the hub dataset ``dwzhu/LongEmbed`` with the ``datasets`` library, at ``revision`` or
    else the one pinned in the task's metadata (:data:`longembed.bench.tasks.HUB_REVISION` for LongEmbed's six).

    Raises:
        BenchError: ``datasets`` is not installed, or the hub (or the task) cannot be reached.
    """
    try:
        import datasets
    except ImportError:
        raise BenchError(
            "no --data DIR given, and the `datasets` library needed to load the hub dataset "
            f"{HUB_DATASET} is not installed (pip install 'longembed[hub]'); give a LongEmbed-format "
            "directory with --data"
        ) from None
    try:
        splits = datasets.load_dataset(HUB_DATASET, name=name, revision=revision or task_info(name).revision)
        return task_from_rows(
            name, f"hub:{HUB_DATASET}/{name}", splits["corpus"], splits["queries"], splits["qrels"]
        )
    except BenchError:
        raise
    except Exception as exc:  # network, unknown configuration, changed schema ...
        raise BenchError(f"cannot load {name!r} from the hub dataset {HUB_DATASET}: {first_line(exc)}") from None


def load_tasks(names: Sequence[str], data_dir: str | Path | None = None) -> LoadReport:
    """Load the named tasks from ``data_dir`` (a LongEmbed-format directory) or, without it, from the hub.

    A task that is missing or malformed is recorded in ``LoadReport.missing`` (task and reason) and skipped.

    Raises:
        BenchError: ``data_dir`` is not a directory; without ``data_dir``, ``datasets`` is not installed.
    """
    report = LoadReport()
    if data_dir is not None:
        root = Path(data_dir).expanduser()
        if not root.is_dir():
            raise BenchError(f"--data {str(data_dir)!r} is not a directory")
    elif names:
        try:
            import datasets  # noqa: F401
        except ImportError:
            load_task_hub(names[0])  # raises the explanatory error
    for name in names:
        try:
            if data_dir is None:
                report.tasks.append(load_task_hub(name))
            elif not (root / name).is_dir():
                report.missing.append({"task": name, "reason": f"no folder {name}/ in {root}"})
            else:
                report.tasks.append(load_task_dir(root / name))
        except BenchError as exc:
            report.missing.append({"task": name, "reason": str(exc)})
    return report
