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
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from tqdm.contrib.logging import logging_redirect_tqdm

from longembed.encoding import Encoder, EncoderProtocol
from longembed.errors import IngestError
from longembed.ingest.ahead import one_ahead
from longembed.ingest.points import document_point, encode_each_on_error, passage_fields
from longembed.ingest.progress import IngestProgress
from longembed.ingest.reader import Listing, ReadFailure, SourceDocument, file_bytes, read_file, scan, shown_path
from longembed.ingest.summary import IngestSummary
from longembed.ingest.triage import Batch, Triage, prune_gone
from longembed.ingest.limits import ReadLimits
from longembed.models.device import pick_device
from longembed.models.paths import resolve_model_path, with_model_defaults
from longembed.settings import IndexSettings, RunOptions, adopt_passages, quantization_for_run
from longembed.sparse.bm25 import document_weights
from longembed.sparse.bm25_run import SparseChoice, SparseRun
from longembed.store import MAX_STORED_TEXT_CHARS, VectorStore, point_id

log = logging.getLogger(__name__)

DEFAULT_DOCS_PER_BATCH = 8
T = TypeVar("T")


def ingest(
    root: str | Path | Listing,
    settings: IndexSettings,
    store: VectorStore,
    collection: str,
    encoder: EncoderProtocol | None = None,
    docs_per_batch: int = DEFAULT_DOCS_PER_BATCH,
    progress: bool = True,
    prune: bool = False,
    force: bool = False,
    run: RunOptions | None = None,
    rehash: bool = False,
    by_name: bool = False,
    sparse: SparseChoice = "bm25",
    limits: ReadLimits | None = None,
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
        encoder: an already built encoder for ``settings`` (otherwise built when first needed, with ``device``,
            ``dtype`` and ``batch_tokens``, see :class:`~longembed.encoding.encoder.Encoder`).
        docs_per_batch: documents read and embedded together; the next batch is read and tokenized in a worker
            thread while the model encodes the current one.
        prune: afterwards, delete the points whose file under ``root`` is gone (never when nothing was readable).
        force: re-embed documents even when their text and settings are unchanged.
        rehash: read and hash every file; otherwise a file whose size and mtime (ns) equal its point's, under the
            same settings, is counted unchanged unparsed (when either differs, the text's sha256 decides).
        by_name: uploads (source ``upload:PATH``, see :mod:`longembed.ingest.identity`): the relative path is the
            identity, an earlier upload of that name is replaced; otherwise two files never share a point.
        sparse: ``bm25`` gives a new collection the ``bm25`` sparse vector (:mod:`longembed.sparse`); ``none``
            does not. An existing collection keeps what it has.
        limits: the size budget of every file and the time and page budgets of PDFs (default
            :class:`~longembed.ingest.limits.ReadLimits`); a file over one is a failure and the rest goes on.

    Raises:
        IngestError: ``root`` is missing or has no supported file, or no document is readable.
        StoreError: the collection exists with other settings (checked before the model is loaded and before
            any write), or a write fails (what was written stays; the next run resumes).
        ModelLoadError, ExtensionError: from building the encoder.
    """
    started = time.perf_counter()
    listing = root if isinstance(root, Listing) else scan(root)
    resolve_model_path(settings.model)  # a missing model path fails before any file is read
    summary = IngestSummary(
        unsupported=list(listing.unsupported),
        hidden=list(listing.hidden),
        symlinked_folders=list(listing.symlinked_folders),
        failed=list(listing.problems),
    )
    state = _IngestRun.start(settings, store, collection, encoder, run, summary, sparse=sparse, by_name=by_name)
    state.started = started
    files = listing.files

    def read(chunk: list[Path]) -> list[SourceDocument | ReadFailure]:
        known = [state.triage.unchanged_stamp(listing.base, f) if not (force or rehash) else None for f in chunk]
        return [stamp or read_file(listing.base, f, limits) for stamp, f in zip(known, chunk)]

    batches = [files[i : i + docs_per_batch] for i in range(0, len(files), docs_per_batch)]
    state.execute(batches, read, force, len(files), progress, [sum(file_bytes(f) for f in b) for b in batches])
    if not (summary.new or summary.updated or summary.unchanged):
        reasons = "; ".join(f"{f.path}: {f.reason}" for f in summary.failed[:5])
        raise IngestError(f"no document could be ingested from {str(listing.root)!r} ({reasons})")
    if prune:
        summary.pruned = prune_gone(listing, state.triage, summary.failed, store, collection)
    return state.finish()


def ingest_documents(
    documents: Sequence[SourceDocument],
    settings: IndexSettings,
    store: VectorStore,
    collection: str,
    encoder: EncoderProtocol | None = None,
    docs_per_batch: int = DEFAULT_DOCS_PER_BATCH,
    progress: bool = True,
    with_chunks: bool = False,
    run: RunOptions | None = None,
    sparse: SparseChoice = "bm25",
) -> IngestSummary:
    """Embed documents already in memory (e.g. a benchmark corpus) and upsert them into ``collection``: the same
    run as :func:`ingest` over reads that are already done (a document's point id derives from its ``path``).

    With ``with_chunks`` every document also gets a ``chunks`` multivector: the vectors of the model inputs the
    extender split it into (``pcw``: its L_o-token windows), for the chunked MaxP baseline.

    Raises:
        IngestError: ``documents`` is empty.
        StoreError: the collection exists with other settings (checked before the model is loaded).
        ModelLoadError, ExtensionError: from building the encoder.
    """
    if not documents:
        raise IngestError(f"no document to ingest into collection {collection!r}")
    state = _IngestRun.start(settings, store, collection, encoder, run, IngestSummary(), with_chunks=with_chunks,
                             sparse=sparse)
    batches = [list(documents[i : i + docs_per_batch]) for i in range(0, len(documents), docs_per_batch)]
    state.execute(batches, list, False, len(documents), progress, [sum(d.size for d in b) for b in batches])
    return state.finish()


@dataclass
class _IngestRun:
    """The state of one ingest run: the lazily loaded encoder and what the collection held when it started."""

    settings: IndexSettings
    store: VectorStore
    collection: str
    encoder: EncoderProtocol | None
    run: RunOptions
    triage: Triage
    collection_ready: bool
    summary: IngestSummary
    with_chunks: bool = False
    """Also store each document's model inputs (``pcw``: its L_o-token windows) as the ``chunks`` multivector."""
    sparse: SparseRun = field(default_factory=SparseRun)
    """The ``bm25`` analyzer and average length of this run (inactive for collections without ``bm25``)."""
    progress: IngestProgress = field(default_factory=lambda: IngestProgress(0, enabled=False))
    """The progress bar, moved by every forward pass of the model."""
    started: float = field(default_factory=time.perf_counter)
    _clock_lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    @classmethod
    def start(
        cls, settings: IndexSettings, store: VectorStore, collection: str, encoder: EncoderProtocol | None,
        run: RunOptions | None, summary: IngestSummary, with_chunks: bool = False, sparse: SparseChoice = "bm25",
        by_name: bool = False,
    ) -> _IngestRun:
        """Resolve the model's prompts into ``settings``, check them against an existing collection (before the
        model is loaded and before any write) and read what the collection holds.

        Raises:
            StoreError: the collection exists with other settings.
        """
        settings = with_model_defaults(settings)  # record the prefixes actually used
        exists = store.exists(collection)
        recorded = store.settings(collection) if exists else None
        run = run or RunOptions()  # --dtype int8 (or auto on a CPU) is recorded; a given encoder keeps its own
        on_cpu = encoder is None and pick_device(run.device).type == "cpu"
        settings, run = quantization_for_run(settings, run, recorded, on_cpu=on_cpu)
        if exists:
            settings = adopt_passages(settings, recorded)  # a collection keeps its passages
            store.check_settings(collection, settings)
        stored = store.stored_documents(collection) if exists else {}
        return cls(
            settings=settings, store=store, collection=collection, encoder=encoder, run=run,
            triage=Triage(stored, settings.fingerprint(), by_name=by_name), collection_ready=exists,
            summary=summary, with_chunks=with_chunks, sparse=SparseRun.start(store, collection, sparse, exists),
        )

    @property
    def fingerprint(self) -> str:
        """The settings fingerprint recorded in every point written."""
        return self.triage.fingerprint

    def execute(self, batches: list[T], read: Callable[[T], list[SourceDocument | ReadFailure]], force: bool,
                total: int, progress: bool, batch_bytes: list[int]) -> None:
        """Read (``read``, in the worker thread, one batch ahead), triage, prepare, embed and write every batch;
        then warn once about truncated documents. ``batch_bytes``: the size of each batch (the progress bar's
        ETA scales by it)."""

        def read_and_prepare(batch: T) -> Batch:
            began = time.perf_counter()
            reads = read(batch)
            self.add_time("read", began)
            return self.prepare(reads, force)

        with IngestProgress(total, enabled=progress, total_bytes=sum(batch_bytes)) as self.progress, \
                logging_redirect_tqdm():
            for batch, n_bytes in zip(one_ahead(batches, read_and_prepare), batch_bytes):
                self.process(batch)
                self.progress.batch_done(batch.size, tokens=self.summary.tokens, n_bytes=n_bytes)
        if self.summary.truncated:
            log.warning("%s", self.summary.truncation_line(name_hint=not log.isEnabledFor(logging.INFO)))

    def finish(self) -> IngestSummary:
        """After the last batch: recount the ``bm25`` length statistics (re-weighting when the mean drifted)."""
        if self.summary.documents or self.summary.pruned:
            began = time.perf_counter()
            self.sparse.finish(self.store, self.collection)
            self.summary.sparse_seconds += time.perf_counter() - began
        self.summary.seconds = time.perf_counter() - self.started
        return self.summary

    def add_time(self, stage: str, since: float) -> None:
        """Add the seconds since ``since`` (a perf_counter value) to ``stage`` (called from both threads)."""
        with self._clock_lock:
            self.summary.stage_seconds[stage] += time.perf_counter() - since

    def prepare(self, reads: list[SourceDocument | ReadFailure], force: bool) -> Batch:
        """Worker-thread step: sort ``reads`` into failed / unchanged / to embed against what the collection held
        at the start, and clip and tokenize the ones to embed (only once the encoder is loaded; before that the
        main thread does it). Reads nothing the main thread writes."""
        began = time.perf_counter()
        batch = self.triage.sort(reads, force)
        docs = batch.to_embed
        if self.sparse.active and docs:
            counted = time.perf_counter()
            batch.term_counts = [self.sparse.analyzer.term_counts(d.text) for d in docs]
            self.summary.sparse_seconds += time.perf_counter() - counted
        if self.encoder is not None and docs:
            batch.ready = self._prepare_texts(docs)
        self.add_time("prepare", began)
        return batch

    def _prepare_texts(self, docs: list[SourceDocument]):
        """The encoder's prepared texts of ``docs``: clipped, or, with passages, the stored text whole."""
        if self.settings.has_passages:  # the stored text whole (its passages), so only a longer text is cut
            texts = [d.text[:MAX_STORED_TEXT_CHARS] for d in docs]
            ready = self.encoder.prepare(texts, kind="document", passages=self.settings)
            return replace(ready, clipped=[len(d.text) > MAX_STORED_TEXT_CHARS for d in docs])
        return self.encoder.prepare([d.text for d in docs], kind="document", clip=True)

    def process(self, batch: Batch) -> None:
        """Record one prepared batch (failures, notes, unchanged documents), then embed and write the rest."""
        for failure in batch.failures:
            log.info("could not read %s: %s", failure.path, failure.reason)  # listed in the summary
            self.summary.failed.append(failure)
        for t in batch.triaged:
            if t.read.note:
                log.warning("%s: %s", shown_path(t.read.path), t.read.note)
                self.summary.notes.append(f"{t.read.path}: {t.read.note}")
            self.triage.seen.add(t.point_id)
            if t.unchanged:
                self.summary.unchanged.append(t.read.path)
                changed = {}
                if t.old.source != t.read.source:  # same document reached through a moved root
                    changed["source"] = t.read.source
                if (t.old.file_size, t.old.file_mtime_ns) != (t.read.file_size, t.read.file_mtime_ns):
                    changed.update(file_size=t.read.file_size, file_mtime_ns=t.read.file_mtime_ns)  # touched
                if changed:
                    self.store.set_payload(self.collection, t.point_id, changed)
        if batch.to_embed:
            self._embed_and_store(batch.to_embed, batch.ready, batch.term_counts)

    def _ready_encoder(self) -> EncoderProtocol:
        """The encoder (loaded on first use) and, before the first write, the collection."""
        if self.encoder is None:
            self.encoder = Encoder(self.settings, self.run)
            if self.settings.extend == "none":
                log.warning(
                    "--extend none truncates every document at %d tokens (the model's %d, or --max-length if smaller)",
                    self.encoder.token_limit, self.encoder.original_length,
                )
        if not self.collection_ready:
            self.store.ensure_collection(
                self.collection, self.settings, self.encoder.dimension,
                with_chunks=self.with_chunks or self.settings.has_passages, sparse=self.sparse.settings,
            )
            self.collection_ready = True
        return self.encoder

    def _embed_and_store(self, batch: list[SourceDocument], ready, term_counts: list | None = None) -> None:
        encoder = self._ready_encoder()
        limit = encoder.token_limit
        hint = (
            "raise --max-length to keep more" if limit == encoder.settings.max_length
            else f"--extend none keeps the model's {encoder.original_length} tokens: choose a method (e.g. --extend "
            "pi) and --max-length to keep more"
        )
        if ready is None:  # the worker thread ran before the encoder was loaded
            began = time.perf_counter()
            ready = self._prepare_texts(batch)
            self.add_time("prepare", began)
        began = time.perf_counter()
        with self.progress.encoding(encoder, len(batch), ready, n_bytes=sum(d.size for d in batch)):
            embedded = encode_each_on_error(
                encoder, ready, batch, self.summary.failed, self.with_chunks, lambda d: self._prepare_texts([d])
            )
        self.add_time("encode", began)
        if self.sparse.active and term_counts is None:  # the batch was prepared before this collection existed
            term_counts = [self.sparse.analyzer.term_counts(d.text) for d in batch]
        avgdl = self.sparse.reference(term_counts)
        clipped = getattr(ready, "clipped", None) or [False] * len(batch)
        passages = getattr(ready, "passages", None)
        stored = []
        for i, (doc, emb, was_clipped) in enumerate(zip(batch, embedded, clipped)):
            if emb is None:
                continue
            extra, sparse = {}, None
            chunks = emb.segment_vectors.tolist() if self.with_chunks else None
            if passages is not None:
                chunks, extra["passages"] = passage_fields(emb, passages[i], len(doc.text))
            if term_counts is not None:
                counts, length = term_counts[i]
                sparse = document_weights(counts, length, avgdl, self.sparse.settings)
                extra["bm25_length"] = length
            if emb.truncated:
                log.info(  # with --verbose; the run ends with one warning that counts them
                    "%s has %s%d tokens; truncated to %d (%s)", shown_path(doc.path),
                    "more than " if was_clipped else "", emb.n_tokens, limit, hint,
                )
                self.summary.note_truncated(doc.path, emb.n_tokens, was_clipped, limit, hint)
            (self.summary.updated if point_id(doc.path) in self.triage.stored else self.summary.new).append(doc.path)
            self.summary.documents += 1
            self.summary.tokens += min(emb.n_tokens, limit)
            stored.append(document_point(doc, emb, self.fingerprint, chunks=chunks, sparse=sparse, **extra))
        began = time.perf_counter()
        self.store.upsert(self.collection, stored)
        self.add_time("write", began)
