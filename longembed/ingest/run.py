"""One ingest run's state and steps, shared by the single-process loop (:mod:`longembed.ingest.pipeline`) and the
Ray loop (:mod:`longembed.ingest.distributed`): check the settings against the collection, triage each batch of
reads, record what needs no model, embed the rest, build their points and write them, then recount ``bm25``."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from longembed.encoding import Encoder, EncoderProtocol
from longembed.errors import LongEmbedError
from longembed.ingest.points import document_point, encode_each_on_error, passage_fields
from longembed.ingest.prepare_workers import PreparePool, auto_prepare_workers, prepare_documents
from longembed.ingest.progress import IngestProgress
from longembed.ingest.reader import Listing, ReadFailure, SourceDocument, shown_path
from longembed.ingest.summary import IngestSummary
from longembed.ingest.triage import Batch, Triage
from longembed.models.device import cpu_quantization, pick_device
from longembed.models.paths import resolve_model_path, with_model_defaults
from longembed.settings import IndexSettings, RunOptions, adopt_passages, quantization_for_run
from longembed.sparse.bm25 import document_weights
from longembed.sparse.bm25_run import SparseChoice, SparseRun
from longembed.store import StoredDocument, VectorStore, point_id

log = logging.getLogger("longembed.ingest.pipeline")  # the logger users and tests know


@dataclass
class IngestRun:
    """The state of one ingest run: the lazily loaded encoder and what the collection held when it started."""

    settings: IndexSettings
    store: VectorStore
    collection: str
    encoder: EncoderProtocol | None
    run: RunOptions
    triage: Triage
    collection_ready: bool
    summary: IngestSummary
    model_path: str | None = None
    """The model's folder (:func:`~longembed.models.paths.resolve_model_path`), resolved once for the run."""
    with_windows: bool = False
    """Also store the vectors of each document's model inputs (``pcw``: its L_o-token windows) as the ``chunks``
    multivector (:data:`~longembed.store.MULTI_VECTOR`), for the bench's ``chunked-maxp``."""
    sparse: SparseRun = field(default_factory=SparseRun)
    """The ``bm25`` analyzer and average length of this run (inactive for collections without ``bm25``)."""
    progress: IngestProgress = field(default_factory=lambda: IngestProgress(0, enabled=False))
    """The progress bar, moved by every forward pass of the model."""
    started: float = field(default_factory=time.perf_counter)
    encoder_factory: Callable[[], EncoderProtocol] | None = None
    """Builds the encoder when the first document needs it (``None``: an :class:`Encoder` in this process)."""
    prepare_workers: int | None = 0
    """Processes that prepare documents (:class:`~longembed.ingest.prepare_workers.PreparePool`, started with the
    encoder); 0: the worker thread prepares them; ``None``: not decided yet (:meth:`resolve_prepare_workers`)."""
    prepare_pool: PreparePool | None = None
    _clock_lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    @classmethod
    def start(
        cls, settings: IndexSettings, store: VectorStore, collection: str, encoder: EncoderProtocol | None,
        run: RunOptions | None, summary: IngestSummary, with_windows: bool = False, sparse: SparseChoice = "bm25",
        by_name: bool = False, on_cpu: bool | None = None, model_path: str | None = None,
        prepare_workers: int | None = 0,
    ) -> IngestRun:
        """Resolve the model's prompts into ``settings``, check them against an existing collection (before the
        model is loaded and before any write) and read what the collection holds.

        Args:
            model_path: the model's folder when the caller has already resolved the model and its defaults into
                ``settings`` (:func:`~longembed.models.paths.with_model_defaults`); ``None``: both are resolved here.
            on_cpu: whether the model will run on a CPU (``--dtype auto`` then gives a new collection this CPU's
                :func:`~longembed.models.device.cpu_quantization`, bfloat16 or int8); ``None``: decided from
                ``run.device`` on this machine (never for a given encoder).
            prepare_workers: processes that prepare documents (:attr:`prepare_workers`); ``None``: decided by
                :meth:`resolve_prepare_workers` when the batches are known.

        Raises:
            StoreError: the collection exists with other settings.
        """
        if model_path is None:
            model_path = resolve_model_path(settings.model)
            settings = with_model_defaults(settings, model_path=model_path)  # record the prefixes actually used
        exists = store.exists(collection)
        recorded = store.settings(collection) if exists else None
        run = run or RunOptions()  # --dtype int8 (or auto on a CPU) is recorded; a given encoder keeps its own
        if on_cpu is None:
            on_cpu = encoder is None and pick_device(run.device).type == "cpu"
        settings, run = quantization_for_run(settings, run, recorded, on_cpu=on_cpu, cpu_default=cpu_quantization())
        if exists:
            settings = adopt_passages(settings, recorded)  # a collection keeps its passages
            store.check_settings(collection, settings)
        stored = store.stored_documents(collection) if exists else {}
        if prepare_workers is not None and prepare_workers < 0:
            raise LongEmbedError(f"prepare workers must be 0 or more, got {prepare_workers}")
        return cls(
            settings=settings, store=store, collection=collection, encoder=encoder, run=run,
            triage=Triage(stored, settings.fingerprint(), by_name=by_name), collection_ready=exists,
            summary=summary, model_path=model_path, with_windows=with_windows,
            sparse=SparseRun.start(store, collection, sparse, exists), prepare_workers=prepare_workers,
        )

    @property
    def fingerprint(self) -> str:
        """The settings fingerprint recorded in every point written."""
        return self.triage.fingerprint

    def complete(self) -> IngestSummary:
        """After the last batch: recount the ``bm25`` length statistics (re-weighting when the mean drifted)."""
        if self.summary.documents or self.summary.pruned:
            began = time.perf_counter()
            self.sparse.refresh(self.store, self.collection)
            self.summary.sparse_seconds += time.perf_counter() - began
        self.summary.seconds = time.perf_counter() - self.started
        return self.summary

    def resolve_prepare_workers(self, n_batches: int) -> int:
        """:attr:`prepare_workers`, decided for a run of ``n_batches`` batches if it was left to ``auto``
        (:func:`~longembed.ingest.prepare_workers.auto_prepare_workers` for the model's device); the pool starts
        now if the encoder is already there (given by the caller), else when it is loaded."""
        if self.prepare_workers is None:
            device = getattr(self.encoder, "device", None) or pick_device(self.run.device)
            self.prepare_workers = auto_prepare_workers(device.type, n_batches)
        self.start_prepare_pool()
        return self.prepare_workers

    def start_prepare_pool(self) -> None:
        """Start the :class:`~longembed.ingest.prepare_workers.PreparePool` once the encoder exists (batches read
        before that are prepared by the main thread)."""
        preparer = getattr(self.encoder, "preparer", None)
        if self.prepare_workers and self.prepare_pool is None and preparer is not None:
            sparse = self.sparse.settings if self.sparse.active else None
            self.prepare_pool = PreparePool(preparer, self.settings, sparse, self.prepare_workers)

    def close(self) -> None:
        """Stop the prepare workers, if any (after the last batch, or on an error)."""
        if self.prepare_pool is not None:
            self.prepare_pool.close()
        self.prepare_workers = 0  # no pool after this

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
        pool = self.prepare_pool  # set by the main thread once the encoder is loaded: read once
        if pool is not None and docs:  # term counts and prepared texts come from a worker process
            batch.pending = pool.submit(docs)
            docs = []
        if self.sparse.active and docs:
            counted = time.perf_counter()
            batch.term_counts = [self.sparse.analyzer.term_counts(d.text) for d in docs]
            self.summary.sparse_seconds += time.perf_counter() - counted
        if self.encoder is not None and docs:
            batch.ready = self.prepare_texts(docs)
        self.add_time("prepare", began)
        return batch

    def prepare_texts(self, docs: list[SourceDocument]):
        """The encoder's prepared texts of ``docs``: clipped, or, with passages, the stored text whole."""
        return prepare_documents(self.encoder, docs, self.settings)

    def process(self, batch: Batch) -> None:
        """Record one prepared batch (failures, notes, unchanged documents), then embed and write the rest."""
        self.record(batch)
        if batch.to_embed:
            docs = batch.to_embed
            encoder = self.ready_encoder()
            if batch.pending is not None:  # prepared in a worker process: the main thread waits for it here
                began = time.perf_counter()
                batch.ready, term_counts = batch.pending.result()
                if self.sparse.active:
                    batch.term_counts = term_counts
                self.add_time("prepare", began)
            if batch.ready is None:  # the worker thread ran before the encoder was loaded
                began = time.perf_counter()
                batch.ready = self.prepare_texts(docs)
                self.add_time("prepare", began)
            began = time.perf_counter()
            with self.progress.encoding(encoder, len(docs), batch.ready, n_bytes=sum(d.size for d in docs)):
                embedded = encode_each_on_error(
                    encoder, batch.ready, docs, self.summary.failed, self.with_windows,
                    lambda d: self.prepare_texts([d]),
                )
            self.add_time("encode", began)
            self.store_points(docs, batch.ready, embedded, batch.term_counts)

    def record(self, batch: Batch) -> None:
        """Record what in ``batch`` needs no model: read failures, reader notes, unchanged documents (a moved or
        touched file gets its new source / size and mtime in its payload)."""
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

    def ready_encoder(self) -> EncoderProtocol:
        """The encoder (loaded on first use) and, before the first write, the collection."""
        if self.encoder is None:
            if self.encoder_factory:
                self.encoder = self.encoder_factory()
            else:
                self.encoder = Encoder(self.settings, self.run, model_path=self.model_path)
            if self.settings.extend == "none":
                log.warning(
                    "--extend none truncates every document at %d tokens (the model's %d, or --max-length if smaller)",
                    self.encoder.token_limit, self.encoder.original_length,
                )
        self.start_prepare_pool()
        if not self.collection_ready:
            self.store.ensure_collection(
                self.collection, self.settings, self.encoder.dimension,
                with_multivector=self.with_windows or self.settings.has_passages, sparse=self.sparse.settings,
            )
            self.collection_ready = True
        return self.encoder

    def store_points(self, docs: list[SourceDocument], ready, embedded: list, term_counts: list | None = None) -> None:
        """Build the points of ``docs`` (:meth:`build_points`) and write them."""
        stored = self.build_points(docs, ready, embedded, term_counts)
        began = time.perf_counter()
        self.store.upsert(self.collection, stored)
        self.add_time("write", began)

    def build_points(
        self, docs: list[SourceDocument], ready, embedded: list, term_counts: list | None = None
    ) -> list[StoredDocument]:
        """The points of ``docs`` from their embeddings (``None``: the document failed alone and is listed in the
        summary); counts new, updated and truncated documents in the summary."""
        encoder = self.ready_encoder()
        limit = encoder.token_limit
        hint = (
            "raise --max-length to keep more" if limit == encoder.settings.max_length
            else f"--extend none keeps the model's {encoder.original_length} tokens: choose a method (e.g. --extend "
            "pi) and --max-length to keep more"
        )
        if self.sparse.active and term_counts is None:  # the batch was prepared before this collection existed
            term_counts = [self.sparse.analyzer.term_counts(d.text) for d in docs]
        avgdl = self.sparse.reference(term_counts)
        clipped = getattr(ready, "clipped", None) or [False] * len(docs)
        passages = getattr(ready, "passages", None)
        stored = []
        for i, (doc, emb, was_clipped) in enumerate(zip(docs, embedded, clipped)):
            if emb is None:
                continue
            extra, sparse = {}, None
            multivector = emb.segment_vectors.tolist() if self.with_windows else None
            if passages is not None:
                multivector, extra["passages"] = passage_fields(emb, passages[i], len(doc.text))
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
            stored.append(document_point(doc, emb, self.fingerprint, multivector=multivector, sparse=sparse, **extra))
        return stored


def listing_summary(listing: Listing) -> IngestSummary:
    """A run's summary before any read: what the listing skipped (unsupported, hidden, symlinked folders) and the
    folders it could not list."""
    return IngestSummary(
        unsupported=list(listing.unsupported),
        hidden=list(listing.hidden),
        symlinked_folders=list(listing.symlinked_folders),
        failed=list(listing.problems),
    )


def warn_truncated(summary: IngestSummary) -> None:
    """One warning that counts the documents cut at the content limit (each is named at info level)."""
    if summary.truncated:
        log.warning("%s", summary.truncation_line(name_hint=not log.isEnabledFor(logging.INFO)))
