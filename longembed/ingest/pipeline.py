"""Ingest: read a folder (or take documents in memory) -> embed whole documents -> write them to a Qdrant collection.

Guarantees (each point is written whole, and its id is the UUID5 of the document's relative path):

- **idempotent**: a document whose stored point has the same text sha256 and the same settings fingerprint is
  not embedded again ("unchanged"); a changed document replaces its point ("updated");
- **resumable and crash-safe**: the process may be killed at any moment; the next run skips what was stored
  and embeds the rest, so the collection ends with exactly one point per readable document;
- **nothing lost**: settings are checked before any write, a file that can no longer be read keeps its
  previous point, and ``prune`` runs only after every readable document is stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from tqdm.contrib.logging import logging_redirect_tqdm

from longembed.errors import IngestError, LongEmbedError
from longembed.ingest.ahead import read_ahead
from longembed.ingest.options import DEFAULT_DOCS_PER_BATCH, IngestOptions  # noqa: F401 (its former home)
from longembed.ingest.progress import IngestProgress
from longembed.ingest.reader import Listing, ReadFailure, SourceDocument, file_bytes, read_file, scan
from longembed.ingest.run import IngestRun, listing_summary, warn_truncated
from longembed.ingest.summary import IngestSummary
from longembed.ingest.triage import Batch, prune_gone
from longembed.ingest.limits import ReadLimits
from longembed.settings import IndexSettings
from longembed.store import VectorStore

if TYPE_CHECKING:
    from longembed.ingest.distributed import RayOptions

log = logging.getLogger(__name__)
T = TypeVar("T")


def ingest(
    root: str | Path | Listing,
    settings: IndexSettings,
    store: VectorStore,
    collection: str,
    *,
    prune: bool = False,
    force: bool = False,
    rehash: bool = False,
    by_name: bool = False,
    limits: ReadLimits | None = None,
    ray: RayOptions | None = None,
    **options: Any,
) -> IngestSummary:
    """Embed every supported file under ``root`` as one whole document and upsert it into ``collection``.

    Documents longer than the content limit (``settings.max_length``, or L_o for ``none``) are truncated; one
    warning at the end counts them (:meth:`IngestSummary.truncation_line`), and an info line of the
    ``longembed.ingest`` logger names each file and its token count; the payload records ``n_tokens`` and
    ``truncated``. With ``settings.passages`` other than ``none`` every document also gets its passages (the
    ``chunks`` multivector and the ``passages`` spans payload, see :mod:`longembed.encoding.late_chunking`), cut in the
    worker thread. Files that cannot be read are listed in the summary; the others are still ingested. The model
    is loaded only when a document needs embedding, the collection created when the first point is written.

    Args:
        root: a folder, one file, or a :class:`Listing` from :func:`~longembed.ingest.reader.scan`.
        prune: afterwards, delete the points whose file under ``root`` is gone (never when nothing was readable).
        force: re-embed documents even when their text and settings are unchanged.
        rehash: read and hash every file; otherwise a file whose size and mtime (ns) equal its point's, under the
            same settings, is counted unchanged unparsed (when either differs, the text's sha256 decides).
        by_name: uploads (source ``upload:PATH``, see :mod:`longembed.ingest.identity`): the relative path is the
            identity, an earlier upload of that name is replaced; otherwise two files never share a point.
        limits: the size budget of every file and the time and page budgets of PDFs (default
            :class:`~longembed.ingest.limits.ReadLimits`); a file over one is a failure and the rest goes on.
        ray: run on a Ray cluster (:mod:`longembed.ingest.distributed`: reading and tokenizing in Ray tasks, the
            model in an actor pool); the same points, guarantees and summary. ``encoder`` must then be ``None``.
        options: the fields of :class:`~longembed.ingest.options.IngestOptions` (``encoder``, ``docs_per_batch``,
            ``progress``, ``run``, ``sparse``, ``model_path``), shared with :func:`ingest_documents`.

    Raises:
        TypeError: an option that is not one of these.
        LongEmbedError: ``ray`` without Ray installed (one line), or with an ``encoder``.
        IngestError: ``root`` is missing or has no supported file, or no document is readable.
        StoreError: the collection exists with other settings (checked before the model is loaded and before
            any write), or a write fails (what was written stays; the next run resumes).
        ModelLoadError, ExtensionError: from building the encoder.
    """
    started = time.perf_counter()
    opts = IngestOptions(**options)
    if ray is not None:
        from longembed.ingest.distributed import run_on_ray

        if opts.encoder is not None:
            raise LongEmbedError("an ingest on Ray builds its encoders in its actors: pass no encoder")
        state, listing = run_on_ray(ray, root, settings, store, collection, opts, force, rehash, by_name, limits)
        summary = state.summary
    else:
        listing = root if isinstance(root, Listing) else scan(root)
        summary = listing_summary(listing)
        state = IngestRun.start(  # resolves the model (a missing path fails before any file is read) unless given
            settings, store, collection, opts.encoder, opts.run, summary, sparse=opts.sparse, by_name=by_name,
            model_path=opts.model_path, prepare_workers=opts.prepare_workers,
        )
        execute(state, listing, opts.docs_per_batch, force, rehash, limits, opts.progress)
    state.started = started
    if not (summary.new or summary.updated or summary.unchanged):
        reasons = "; ".join(f"{f.path}: {f.reason}" for f in summary.failed[:5])
        raise IngestError(f"no document could be ingested from {str(listing.root)!r} ({reasons})")
    if prune:
        summary.pruned = prune_gone(listing, state.triage, summary.failed, store, collection)
    return state.complete()


def ingest_documents(
    documents: Sequence[SourceDocument],
    settings: IndexSettings,
    store: VectorStore,
    collection: str,
    *,
    with_windows: bool = False,
    **options: Any,
) -> IngestSummary:
    """Embed documents already in memory (e.g. a benchmark corpus) and upsert them into ``collection``: the same
    run as :func:`ingest` over reads that are already done (a document's point id derives from its ``path``), with
    the same ``options`` (:class:`~longembed.ingest.options.IngestOptions`).

    With ``with_windows`` every document also gets a ``chunks`` multivector (:data:`~longembed.store.MULTI_VECTOR`):
    the vectors of the model inputs the extender split it into (``pcw``: its L_o-token windows), for the chunked
    MaxP baseline.

    Raises:
        TypeError: an option that is not a field of :class:`~longembed.ingest.options.IngestOptions`.
        IngestError: ``documents`` is empty.
        StoreError: the collection exists with other settings (checked before the model is loaded).
        ModelLoadError, ExtensionError: from building the encoder.
    """
    opts = IngestOptions(**options)
    if not documents:
        raise IngestError(f"no document to ingest into collection {collection!r}")
    state = IngestRun.start(settings, store, collection, opts.encoder, opts.run, IngestSummary(),
                            with_windows=with_windows, sparse=opts.sparse, model_path=opts.model_path,
                            prepare_workers=opts.prepare_workers)
    size = opts.docs_per_batch
    batches = [list(documents[i : i + size]) for i in range(0, len(documents), size)]
    execute_batches(state, batches, list, False, opts.progress, [sum(d.size for d in b) for b in batches])
    return state.complete()


def execute(state: IngestRun, listing: Listing, docs_per_batch: int, force: bool, rehash: bool,
            limits: ReadLimits | None, progress: bool) -> None:
    """Every file of ``listing``, ``docs_per_batch`` at a time, through :func:`execute_batches` (a file whose size
    and mtime match its point's is not read, unless ``force`` or ``rehash``)."""
    files = listing.files

    def read(batch: list[Path]) -> list[SourceDocument | ReadFailure]:
        known = [state.triage.unchanged_stamp(listing.base, f) if not (force or rehash) else None for f in batch]
        return [stamp or read_file(listing.base, f, limits) for stamp, f in zip(known, batch)]

    batches = [files[i : i + docs_per_batch] for i in range(0, len(files), docs_per_batch)]
    execute_batches(state, batches, read, force, progress, [sum(file_bytes(f) for f in b) for b in batches])


def execute_batches(state: IngestRun, batches: list[T], read: Callable[[T], list[SourceDocument | ReadFailure]],
            force: bool, progress: bool, batch_bytes: list[int]) -> None:
    """Read (``read``, in the worker thread, one batch ahead), triage, prepare, embed and write every batch of
    ``state``'s run; then warn once about truncated documents. ``batch_bytes``: the size of each batch in bytes
    (the progress bar's ETA scales by it)."""

    def read_and_prepare(batch: T) -> Batch:
        began = time.perf_counter()
        reads = read(batch)
        state.add_time("read", began)
        return state.prepare(reads, force)

    total = sum(len(b) for b in batches)
    depth = state.resolve_prepare_workers(len(batches)) + 1  # batches handed to the prepare workers ahead
    try:
        with IngestProgress(total, enabled=progress, total_bytes=sum(batch_bytes)) as state.progress, \
                logging_redirect_tqdm():
            for batch, n_bytes in zip(read_ahead(batches, read_and_prepare, depth), batch_bytes):
                state.process(batch)
                state.progress.batch_done(batch.size, tokens=state.summary.tokens, n_bytes=n_bytes)
    finally:
        state.close()
    warn_truncated(state.summary)
