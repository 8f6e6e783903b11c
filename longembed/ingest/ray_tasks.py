"""The Ray tasks of a distributed ingest (:mod:`longembed.ingest.distributed`): reading files, tokenizing the
documents to embed, writing points to a Qdrant server. Each is a plain function of this module (importable by
every worker), made remote once per Ray module by :func:`ray_tasks`; Ray itself is imported only by
:func:`import_ray`, so longembed runs without it."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from longembed.errors import LongEmbedError
from longembed.ingest.limits import ReadLimits
from longembed.ingest.reader import ReadFailure, SourceDocument, read_file
from longembed.ingest.prepare_workers import prepare_documents
from longembed.settings import IndexSettings
from longembed.sparse.analyzer import Analyzer, SparseSettings

RAY_MISSING = "--ray needs Ray, which is not installed: pip install 'longembed[ray]'"


def import_ray():
    """The ``ray`` module.

    Raises:
        LongEmbedError: Ray is not installed (:data:`RAY_MISSING`, one line).
    """
    try:
        import ray
    except ImportError:
        raise LongEmbedError(RAY_MISSING) from None
    return ray


@functools.lru_cache(maxsize=4)
def _analyzer(settings: SparseSettings) -> Analyzer:
    return Analyzer(settings)


def read_files(
    base: Path, files: list[Path], limits: ReadLimits | None, sparse: SparseSettings | None
) -> tuple[list[SourceDocument | ReadFailure], list[tuple[dict[int, int], int] | None]]:
    """Read ``files`` (paths under ``base``) and count each document's ``bm25`` terms (``sparse``: the
    collection's analyzer settings; ``None``: no counts). Returns the reads in order and, per read, its term
    counts and length in terms (``None`` for a failure)."""
    reads = [read_file(base, f, limits) for f in files]
    analyzer = _analyzer(sparse) if sparse is not None else None
    counts = [analyzer.term_counts(r.text) if analyzer and isinstance(r, SourceDocument) else None for r in reads]
    return reads, counts


@dataclass(frozen=True)
class PreparedFacts:
    """What the driver needs of a batch's prepared texts to build its points (not the token ids)."""

    clipped: list[bool] | None
    passages: list | None


def prepare_texts(preparer, docs: list[SourceDocument], settings: IndexSettings) -> tuple[object, PreparedFacts]:
    """``docs`` tokenized and split into model inputs (and passages) by the encoder's ``preparer``
    (:func:`~longembed.ingest.prepare_workers.prepare_documents`), and the facts of them the driver needs (two Ray
    objects: the token ids go to an encoder actor only)."""
    ready = prepare_documents(preparer, docs, settings)
    return ready, PreparedFacts(ready.clipped, ready.passages)


def write_points(url: str, collection: str, points: list) -> int:
    """Upsert ``points`` into ``collection`` of the Qdrant server at ``url``; returns how many.

    Raises:
        StoreError: the server refused the write.
    """
    from longembed.store import open_store

    store = open_store(url=url, create=False)
    try:
        store.upsert(collection, points)
    finally:
        store.close()
    return len(points)


@functools.lru_cache(maxsize=2)
def ray_tasks(ray) -> SimpleNamespace:
    """The remote versions of this module's tasks: ``read`` (:func:`read_files`), ``prepare``
    (:func:`prepare_texts`) and ``write`` (:func:`write_points`); each retried by Ray when its worker dies."""
    return SimpleNamespace(
        read=ray.remote(max_retries=3)(read_files),
        prepare=ray.remote(max_retries=3, num_returns=2)(prepare_texts),
        write=ray.remote(max_retries=3)(write_points),
    )
