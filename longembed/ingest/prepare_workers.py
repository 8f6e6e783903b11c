"""Preparing documents for the model: in the ingest's worker thread, or in worker processes that keep a GPU fed.

:func:`prepare_documents` is the one definition of what a document to embed goes through before the model (clip or
keep whole for passages, tokenize, cut sentence passages, plan the extender's model inputs); the single-process
ingest, the Ray tasks and :class:`PreparePool` all call it.

Why processes: preparing is mostly Python (NLTK's Punkt splits sentences in pure Python; building model inputs
and BM25 term counts too), so a worker *thread* shares the interpreter lock with the thread that runs the model,
pools and writes. With naive passages that lock, not the cores, bounded the CPU side at ~93k document tokens/s
on a 2-core machine (``perf/perf_pipeline.py``, ``perf/PERF.md`` §13c), while a GPU encodes ~485k tokens/s. A
:class:`PreparePool` runs :func:`prepare_documents` (and the BM25 term counts) in ``workers`` processes (forked
where the OS can, see :data:`START_METHOD`), each with its own copy of the encoder's
:class:`~longembed.encoding.prepare.Preparer` and BM25 analyzer, several batches ahead of the model. The prepared
texts are the same either way (``tests/ingest/test_prepare_workers.py`` compares every point).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace

from longembed.ingest.reader import SourceDocument
from longembed.settings import IndexSettings
from longembed.sparse.analyzer import Analyzer, SparseSettings
from longembed.store import MAX_STORED_TEXT_CHARS

START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
"""Workers are forked where the OS can (Linux: as PyTorch's DataLoader does; no re-import of the caller's
``__main__``, no copy of the model's weights), spawned elsewhere (then the caller's script needs the
``if __name__ == "__main__":`` guard)."""
MAX_AUTO_WORKERS = 8
"""Auto on a GPU: at most this many worker processes (one core stays with the model's thread)."""
MIN_AUTO_BATCHES = 4
"""Auto starts no worker process for a run of fewer batches (starting the workers costs more than they save)."""


def prepare_documents(preparer, docs: list[SourceDocument], settings: IndexSettings):
    """``docs`` made ready by ``preparer`` (an encoder or its :class:`~longembed.encoding.prepare.Preparer`):
    clipped to the content limit, or, when ``settings`` has passages, the stored text whole
    (:data:`MAX_STORED_TEXT_CHARS` characters) so that every passage is cut from it."""
    if settings.has_passages:  # the stored text whole (its passages), so only a longer text is cut
        texts = [d.text[:MAX_STORED_TEXT_CHARS] for d in docs]
        with_passages = getattr(preparer, "prepare_with_passages", None)  # a Preparer; an encoder takes passages=
        ready = with_passages(texts, settings) if with_passages else preparer.prepare(texts, passages=settings)
        return replace(ready, clipped=[len(d.text) > MAX_STORED_TEXT_CHARS for d in docs])
    return preparer.prepare([d.text for d in docs], kind="document", clip=True)


def auto_prepare_workers(device_type: str, n_batches: int, cpus: int | None = None) -> int:
    """Worker processes for ``prepare_workers=None`` (auto): none on a CPU (the model needs every core; the worker
    thread prepares) or for fewer than :data:`MIN_AUTO_BATCHES` batches (starting a worker costs seconds), else one
    per core but one, at most :data:`MAX_AUTO_WORKERS` and at most one per batch."""
    if device_type == "cpu" or n_batches < MIN_AUTO_BATCHES:
        return 0
    cpus = cpus if cpus is not None else len(os.sched_getaffinity(0))
    return max(1, min(MAX_AUTO_WORKERS, cpus - 1, n_batches))


class PreparePool:
    """``workers`` processes (:data:`START_METHOD`) that run :func:`prepare_documents` and BM25 term counts for
    the ingest.

    Args:
        preparer: the encoder's :class:`~longembed.encoding.prepare.Preparer` (each worker has its own copy).
        settings: the collection's resolved settings (passages, prefixes).
        sparse: the collection's BM25 :class:`~longembed.sparse.analyzer.SparseSettings` (each worker builds its
            :class:`~longembed.sparse.analyzer.Analyzer`), or ``None`` (no ``bm25``).
        workers: processes (≥ 1).
    """

    def __init__(self, preparer, settings: IndexSettings, sparse: SparseSettings | None, workers: int) -> None:
        if workers < 1:
            raise ValueError(f"a prepare pool needs at least 1 worker, got {workers}")
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context(START_METHOD),
            initializer=_start_worker, initargs=(preparer, settings, sparse),
        )
        # Start the workers now, from this thread: a forked worker inherits TOKENIZERS_PARALLELISM=false (the Rust
        # tokenizer's thread pool does not survive a fork, and it would print a warning saying so), while this
        # process keeps its own setting once they are started.
        previous = os.environ.get("TOKENIZERS_PARALLELISM")
        os.environ["TOKENIZERS_PARALLELISM"] = "false"
        try:
            for started in [self._pool.submit(os.getpid) for _ in range(workers)]:
                started.result()
        finally:
            if previous is None:
                os.environ.pop("TOKENIZERS_PARALLELISM", None)
            else:
                os.environ["TOKENIZERS_PARALLELISM"] = previous

    def submit(self, docs: list[SourceDocument]) -> Future:
        """Prepare ``docs`` in a worker: a future of ``(prepared texts, term counts or None)``."""
        return self._pool.submit(_prepare, [d.text for d in docs])

    def close(self) -> None:
        """Stop the workers (queued work is dropped)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


_worker: tuple | None = None
"""In a worker process: its (preparer, settings, analyzer)."""


def _start_worker(preparer, settings: IndexSettings, sparse: SparseSettings | None) -> None:
    global _worker
    _worker = preparer, settings, Analyzer(sparse) if sparse is not None else None


def _prepare(texts: list[str]):
    preparer, settings, analyzer = _worker
    docs = [SourceDocument(path="", title="", text=t, sha256="") for t in texts]
    term_counts = [analyzer.term_counts(t) for t in texts] if analyzer is not None else None
    return prepare_documents(preparer, docs, settings), term_counts
