"""A loaded LongEmbed task (documents, queries, qrels, needles: :class:`TaskData`) and the scoring units cut from it
(:class:`TaskSplit`, :func:`make_splits`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from longembed.bench.tasks import TaskInfo


@dataclass(frozen=True)
class CorpusDocument:
    """One benchmark document; ``context_length`` (tokens) only for synthetic tasks."""

    doc_id: str
    text: str
    context_length: int | None = None


@dataclass(frozen=True)
class Query:
    """One benchmark query; ``context_length`` (tokens) only for synthetic tasks."""

    qid: str
    text: str
    context_length: int | None = None


@dataclass
class TaskData:
    """A whole task as loaded.

    Attributes:
        info: the task's metadata (label, kind, main metric).
        source: where it came from, e.g. ``dir:/data/longembed/qmsum`` or ``hub:dwzhu/LongEmbed/qmsum``.
        corpus, queries: in file order.
        qrels: qid -> {doc_id: relevance}.
        needles: question -> the needle sentence that answers it (needle tasks with ``needles.jsonl``; else empty).
    """

    info: TaskInfo
    source: str
    corpus: list[CorpusDocument]
    queries: list[Query]
    qrels: dict[str, dict[str, int]]
    needles: dict[str, str] = field(default_factory=dict)

    @property
    def context_lengths(self) -> list[int]:
        """The context lengths (tokens) of a synthetic task's queries, ascending; empty for a real task."""
        return sorted({q.context_length for q in self.queries if q.context_length is not None})


@dataclass
class TaskSplit:
    """What one scoring unit searches: a real task, or one context length of a synthetic task.

    Attributes:
        info: the task's metadata.
        context_length: tokens, for a synthetic task's split; ``None`` for a real task.
        corpus: the documents searched (a synthetic split holds only its length's documents).
        queries: the queries scored (at most ``limit``), each with at least one relevant document in ``corpus``.
        qrels: qid -> {doc_id: relevance}, for the kept queries.
        total_queries, total_documents: sizes before ``limit`` / ``max_docs`` were applied.
        needles: as :attr:`TaskData.needles`.
    """

    info: TaskInfo
    context_length: int | None
    corpus: list[CorpusDocument]
    queries: list[Query]
    qrels: dict[str, dict[str, int]]
    total_queries: int = 0
    total_documents: int = 0
    needles: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``task`` or ``task@length``."""
        return self.info.name if self.context_length is None else f"{self.info.name}@{self.context_length}"


def select_corpus(
    corpus: Sequence[CorpusDocument], relevant: set[str], max_docs: int | None
) -> list[CorpusDocument]:
    """The documents a split searches: all of ``corpus``, or, with ``max_docs``, every relevant document plus
    the first other documents in corpus order until ``max_docs`` documents are kept (corpus order is kept)."""
    if max_docs is None or len(corpus) <= max_docs:
        return list(corpus)
    room = max(0, max_docs - len(relevant))
    keep = set(relevant)
    for doc in corpus:
        if room == 0:
            break
        if doc.doc_id not in keep:
            keep.add(doc.doc_id)
            room -= 1
    return [d for d in corpus if d.doc_id in keep]


def make_splits(
    task: TaskData,
    lengths: Sequence[int] | None = None,
    limit: int | None = None,
    max_docs: int | None = None,
) -> tuple[list[TaskSplit], list[dict[str, Any]]]:
    """The scoring units of ``task``: one per asked context length (synthetic) or the whole task (real).

    Args:
        lengths: context lengths (tokens) to score a synthetic task at; ``None`` means all it has.
        limit: keep the first ``limit`` queries (file order) of each split.
        max_docs: cut each split's corpus to at most this many documents, keeping every relevant document
            of the kept queries (see :func:`select_corpus`); makes retrieval easier, for quick runs only.

    Returns:
        the splits, and the asked lengths the task does not have (``{"task", "context_length", "reason"}``).
    """
    missing: list[dict[str, Any]] = []
    if task.info.kind == "synthetic":
        have = task.context_lengths
        wanted = list(lengths) if lengths is not None else have
        groups = []
        for length in wanted:
            if length not in have:
                reason = "no queries of this length"
                missing.append({"task": task.info.name, "context_length": length, "reason": reason})
                continue
            groups.append(
                (
                    length,
                    [d for d in task.corpus if d.context_length == length],
                    [q for q in task.queries if q.context_length == length],
                )
            )
    else:
        groups = [(None, task.corpus, task.queries)]
    splits = []
    for length, docs, queries in groups:
        doc_ids = {d.doc_id for d in docs}
        scorable = [q for q in queries if doc_ids & set(task.qrels[q.qid])]
        kept = scorable[:limit] if limit is not None else scorable
        qrels = {q.qid: {d: r for d, r in task.qrels[q.qid].items() if d in doc_ids} for q in kept}
        relevant = {d for rel in qrels.values() for d, r in rel.items() if r > 0}
        corpus = select_corpus(docs, relevant, max_docs)
        splits.append(TaskSplit(task.info, length, corpus, kept, qrels, len(scorable), len(docs), task.needles))
    return splits, missing
