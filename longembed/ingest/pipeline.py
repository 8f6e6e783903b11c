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
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from tqdm.contrib.logging import logging_redirect_tqdm

from longembed.encoder import Encoder, PreparedTexts, resolve_model_path, with_model_prompts
from longembed.encoding.passages import Passage
from longembed.encoding.pooling import prepare_passages
from longembed.errors import IngestError, LongEmbedError
from longembed.ingest.identity import identify
from longembed.ingest.progress import IngestProgress
from longembed.limits import ReadLimits
from longembed.ingest.reader import Listing, ReadFailure, SourceDocument, read_file, scan, shown_path
from longembed.settings import IndexSettings, adopt_passages
from longembed.sparse.bm25 import document_weights
from longembed.sparse.ingest import SparseRun, SparseChoice
from longembed.store import DocumentPayload, Store, StoredDocument, StoredState, point_id

log = logging.getLogger(__name__)

DEFAULT_DOCS_PER_BATCH = 8
CLIP_CHARS_PER_TOKEN = 32
"""A text longer than (content limit + margin) × this many characters is tokenized by growing prefixes, so a
50 MB single-line file costs a few thousand tokens, not millions."""
CLIP_MARGIN_TOKENS = 64
"""Tokens past the content limit a prefix must reach, so the cut word cannot change the kept tokens."""
CLIP_GROWTH_STEPS = 2
"""Prefixes tried at most before the last one is kept as it is: a text whose first (limit + margin) × 32 × 16
characters hold no more than the content limit in tokens (e.g. one 30 MB word, a single [UNK]) is embedded from
that prefix, so tokenizing costs a few MB of text, not the whole file (issue 14 row 8)."""
MAX_STORED_TEXT_CHARS = 1_000_000
"""Longest text kept in a point's payload (for snippets); ``text_chars`` records the full length."""


@dataclass
class IngestSummary:
    """What one ingest run did. Times in seconds, lengths in tokens; lists hold relative paths.

    Attributes:
        documents: documents embedded and written in this run (``new`` + ``updated``).
        tokens: tokens embedded in this run.
        new, updated, unchanged: documents by what happened to their point (unchanged ones are not embedded).
        pruned: points deleted because their file is gone (``prune`` only).
        truncated: embedded documents longer than the content limit.
        longest_truncated: tokens of the longest truncated document (``longest_clipped``: more than this, its
            text was clipped before tokenizing); ``truncated_to``: the limit they were cut to (special tokens included);
            ``truncation_hint``: how to keep more (see :meth:`truncation_line`).
        failed: files (or folders) that could not be read or embedded.
        unsupported, hidden, symlinked_folders: entries skipped while listing.
        notes: one line per document whose text was decoded with a fallback (encoding, replacement).
        seconds: wall time of the run.
        stage_seconds: time spent per step (seconds): ``read`` (files read, decoded, hashed) and ``prepare``
            (clipped, tokenized, split into model inputs) run in a worker thread, one batch ahead of ``encode``
            (the model) and ``write`` (Qdrant upserts), so their sum can exceed ``seconds``.
    """

    documents: int = 0
    tokens: int = 0
    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)
    failed: list[ReadFailure] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    symlinked_folders: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    longest_truncated: int = 0
    longest_clipped: bool = False
    truncated_to: int = 0
    truncation_hint: str = ""
    seconds: float = 0.0
    sparse_seconds: float = 0.0
    """Time spent computing BM25 term counts and weights (part of ``prepare``; 0 without ``bm25``)."""
    stage_seconds: dict[str, float] = field(
        default_factory=lambda: {"read": 0.0, "prepare": 0.0, "encode": 0.0, "write": 0.0}
    )

    def line(self) -> str:
        skipped = f"{len(self.unsupported)} unsupported, {len(self.hidden)} hidden"
        if self.symlinked_folders:
            skipped += f", {len(self.symlinked_folders)} symlinked folder(s)"
        return (
            f"ingested {self.documents} document{'' if self.documents == 1 else 's'} ({self.tokens} tokens): "
            f"{len(self.new)} new, "
            f"{len(self.updated)} updated, {len(self.unchanged)} unchanged, {len(self.pruned)} pruned, "
            f"{len(self.failed)} failed; {len(self.truncated)} truncated; skipped {skipped}; in {self.seconds:.1f} s"
        )

    def truncation_line(self, name_hint: bool = True) -> str | None:
        """One line for all truncated documents (count, longest, how to keep more; with ``name_hint``, that
        --verbose names each), ``None`` when none was."""
        n = len(self.truncated)
        if not n:
            return None
        longest = f"{'more than ' if self.longest_clipped else ''}{self.longest_truncated}"
        return (
            f"{n} document{'' if n == 1 else 's'} truncated to {self.truncated_to} tokens (longest: {longest} "
            f"tokens); {self.truncation_hint}{'; --verbose names each' if name_hint else ''}"
        )


def ingest(
    root: str | Path | Listing,
    settings: IndexSettings,
    store: Store,
    collection: str,
    encoder: Encoder | None = None,
    docs_per_batch: int = DEFAULT_DOCS_PER_BATCH,
    progress: bool = True,
    prune: bool = False,
    force: bool = False,
    device: str = "auto",
    dtype: str = "auto",
    batch_tokens: int | None = None,
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
    ``chunks`` multivector and the ``passages`` spans payload, see :mod:`longembed.encoding.pooling`), cut in the
    worker thread. Files that cannot be read are listed in the summary; the others are still ingested. The model
    is loaded only when a document needs embedding, and the collection is created only when the first point is
    written.

    Args:
        root: a folder, one file, or a :class:`Listing` from :func:`~longembed.ingest.reader.scan`.
        encoder: an already built encoder for ``settings`` (otherwise built when first needed, with ``device``,
            ``dtype`` and ``batch_tokens``, see :class:`~longembed.encoder.Encoder`).
        docs_per_batch: documents read and embedded together; the next batch is read and tokenized in a worker
            thread while the model encodes the current one.
        prune: afterwards, delete the points whose file under ``root`` is gone (never when nothing was readable).
        force: re-embed documents even when their text and settings are unchanged.
        rehash: read and hash every file; otherwise a file whose size and modification time (ns) equal the
            ones recorded with its point, under the same settings, is counted unchanged without being parsed
            (when either differs, the text's sha256 decides).
        by_name: the path relative to ``root`` is the identity, whatever file held it before (uploads); by
            default two different files never share a point (see :mod:`longembed.ingest.identity`).
        sparse: ``bm25`` gives a new collection the ``bm25`` sparse vector (:mod:`longembed.sparse`); ``none``
            does not. An existing collection keeps what it has.
        limits: the size budget of every file and the time and page budgets of PDFs (default
            :class:`~longembed.limits.ReadLimits`); a file over one is a failure and the rest goes on.

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
    run = _Run.start(
        settings, store, collection, encoder, _EncoderOptions(device, dtype, batch_tokens), summary, sparse=sparse
    )
    run.by_name = by_name
    files = listing.files
    batches = [files[start : start + docs_per_batch] for start in range(0, len(files), docs_per_batch)]

    def read_and_prepare(chunk: list[Path]) -> _Batch:
        began = time.perf_counter()
        reads = [run.unchanged_stamp(listing.base, f) if not (force or rehash) else None for f in chunk]
        reads = [known or read_file(listing.base, f, limits) for known, f in zip(reads, chunk)]
        run.add_time("read", began)
        return run.prepare(reads, force)

    with IngestProgress(len(files), enabled=progress) as run.progress, logging_redirect_tqdm():
        for batch in _one_ahead(batches, read_and_prepare):
            run.process(batch)
            run.progress.batch_done(batch.size)
    if summary.truncated:
        log.warning("%s", summary.truncation_line(name_hint=not log.isEnabledFor(logging.INFO)))
    if not (summary.new or summary.updated or summary.unchanged):
        reasons = "; ".join(f"{f.path}: {f.reason}" for f in summary.failed[:5])
        raise IngestError(f"no document could be ingested from {str(listing.root)!r} ({reasons})")
    if prune:
        summary.pruned = _prune(listing, run, store, collection)
    run.finish()
    summary.seconds = time.perf_counter() - started
    return summary


def ingest_documents(
    documents: Sequence[SourceDocument],
    settings: IndexSettings,
    store: Store,
    collection: str,
    encoder: Encoder | None = None,
    docs_per_batch: int = DEFAULT_DOCS_PER_BATCH,
    progress: bool = True,
    with_chunks: bool = False,
    device: str = "auto",
    dtype: str = "auto",
    batch_tokens: int | None = None,
    sparse: SparseChoice = "bm25",
) -> IngestSummary:
    """Embed documents already in memory (e.g. a benchmark corpus) and upsert them into ``collection``.

    The same steps as :func:`ingest` (unchanged documents skipped, settings checked before any write, the next
    batch tokenized in a worker thread while the current one is encoded); a
    document's point id derives from its ``path``. With ``with_chunks`` every document also gets a ``chunks``
    multivector: the vectors of the model inputs the extender split it into (``pcw``: its L_o-token
    windows), for the chunked MaxP baseline.

    Raises:
        IngestError: ``documents`` is empty.
        StoreError: the collection exists with other settings (checked before the model is loaded).
        ModelLoadError, ExtensionError: from building the encoder.
    """
    started = time.perf_counter()
    if not documents:
        raise IngestError(f"no document to ingest into collection {collection!r}")
    options = _EncoderOptions(device, dtype, batch_tokens)
    run = _Run.start(
        settings, store, collection, encoder, options, IngestSummary(), with_chunks=with_chunks, sparse=sparse
    )
    batches = [list(documents[start : start + docs_per_batch]) for start in range(0, len(documents), docs_per_batch)]
    with IngestProgress(len(documents), enabled=progress) as run.progress, logging_redirect_tqdm():
        for batch in _one_ahead(batches, lambda reads: run.prepare(reads, force=False)):
            run.process(batch)
            run.progress.batch_done(batch.size)
    if run.summary.truncated:
        log.warning("%s", run.summary.truncation_line(name_hint=not log.isEnabledFor(logging.INFO)))
    run.finish()
    run.summary.seconds = time.perf_counter() - started
    return run.summary


@dataclass(frozen=True)
class _EncoderOptions:
    """How to build the encoder when the run needs one (see :class:`~longembed.encoder.Encoder`)."""

    device: str = "auto"
    dtype: str = "auto"
    batch_tokens: int | None = None

    def build(self, settings: IndexSettings) -> Encoder:
        return Encoder(settings, device=self.device, dtype=self.dtype, batch_tokens=self.batch_tokens)


@dataclass
class _Ready:
    """Documents made ready for the model: clipped texts (and whether each was cut) and model inputs."""

    texts: list[str]
    clipped: list[bool]
    prepared: PreparedTexts
    passages: list[list[Passage]] | None = None
    """Each document's passages (collections with passages, see :mod:`longembed.encoding.pooling`)."""


def _make_ready(docs: list[SourceDocument], encoder: Encoder, settings: IndexSettings) -> _Ready:
    texts, clipped = zip(*(_clip(d.text, encoder) for d in docs))
    ready = _Ready(list(texts), list(clipped), encoder.prepare(list(texts), kind="document"))
    if settings.has_passages:
        stored = [d.text[:MAX_STORED_TEXT_CHARS] for d in docs]
        ready.prepared, ready.passages = prepare_passages(encoder, ready.prepared, stored, settings)
    return ready


@dataclass
class _Triaged:
    """One document as read, matched with what the collection holds for it."""

    read: SourceDocument
    """The read, re-pathed when the same file is stored under another relative path."""
    point_id: str
    old: StoredState | None
    unchanged: bool


@dataclass
class _Batch:
    """One batch of reads, sorted against the collection in the worker thread, and (once the encoder is loaded)
    the documents that need the model made ready."""

    failures: list[ReadFailure]
    triaged: list[_Triaged]
    ready: _Ready | None = None
    term_counts: list[tuple[dict[int, int], int]] | None = None
    """BM25 term counts and length of each document of :attr:`to_embed` (collections with ``bm25``)."""

    @property
    def size(self) -> int:
        return len(self.failures) + len(self.triaged)

    @property
    def to_embed(self) -> list[SourceDocument]:
        return [t.read for t in self.triaged if not t.unchanged]


def _one_ahead(batches: Iterable, work: Callable[[object], _Batch]) -> Iterator[_Batch]:
    """Yield ``work(batch)`` for each batch, in order, computing the next one in a worker thread while the
    caller handles the current one (reading and tokenizing overlap encoding). An exception in ``work`` is
    raised when its batch is due; on exit the worker finishes its batch and nothing more is started."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="longembed-read") as pool:
        ahead: Future | None = None
        try:
            for batch in batches:
                submitted = pool.submit(work, batch)
                if ahead is not None:
                    yield ahead.result()
                ahead = submitted
            if ahead is not None:
                yield ahead.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class _Run:
    """The state of one ingest run: the lazily loaded encoder and what the collection held when it started."""

    settings: IndexSettings
    store: Store
    collection: str
    encoder: Encoder | None
    options: _EncoderOptions
    stored: dict[str, StoredState]
    collection_ready: bool
    summary: IngestSummary
    with_chunks: bool = False
    """Also store each document's model inputs (``pcw``: its L_o-token windows) as the ``chunks`` multivector."""
    seen: set[str] = field(default_factory=set)
    """Point ids of the documents read in this run (written or confirmed unchanged)."""
    by_source: dict[str, StoredState] = field(default_factory=dict)
    claimed: dict[str, str] = field(default_factory=dict)
    """Point id -> source file of every document triaged in this run (two files never share a point)."""
    by_name: bool = False
    """Uploads: the relative path is the identity (see :func:`~longembed.ingest.identity.identify`)."""
    fingerprint: str = field(init=False, default="")
    """The settings fingerprint recorded in every point written."""
    sparse: SparseRun = field(default_factory=SparseRun)
    """The ``bm25`` analyzer and average length of this run (inactive for collections without ``bm25``)."""
    progress: IngestProgress = field(default_factory=lambda: IngestProgress(0, enabled=False))
    """The progress bar, moved by every forward pass of the model."""
    _clock_lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    @classmethod
    def start(
        cls,
        settings: IndexSettings,
        store: Store,
        collection: str,
        encoder: Encoder | None,
        options: _EncoderOptions,
        summary: IngestSummary,
        with_chunks: bool = False,
        sparse: SparseChoice = "bm25",
    ) -> _Run:
        """Resolve the model's prompts into ``settings``, check them against an existing collection (before the
        model is loaded and before any write) and read what the collection holds.

        Raises:
            StoreError: the collection exists with other settings.
        """
        settings = with_model_prompts(settings)  # record the prefixes actually used
        exists = store.exists(collection)
        if exists:
            settings = adopt_passages(settings, store.settings(collection))  # a collection keeps its passages
            store.check_settings(collection, settings)
        return cls(
            settings=settings,
            store=store,
            collection=collection,
            encoder=encoder,
            options=options,
            stored=store.stored_documents(collection) if exists else {},
            collection_ready=exists,
            summary=summary,
            with_chunks=with_chunks,
            sparse=SparseRun.start(store, collection, sparse, exists),
        )

    def __post_init__(self) -> None:
        self.by_source = {s.source: s for s in self.stored.values() if s.source}
        self.fingerprint = self.settings.fingerprint()

    def add_time(self, stage: str, since: float) -> None:
        """Add the seconds since ``since`` (a perf_counter value) to ``stage`` (called from both threads)."""
        with self._clock_lock:
            self.summary.stage_seconds[stage] += time.perf_counter() - since

    def unchanged_stamp(self, base: Path, file: Path) -> SourceDocument | None:
        """The stored document of ``file`` as a text-less :class:`SourceDocument` when the file's (size,
        mtime_ns) and the settings fingerprint equal those recorded with its point; ``None`` otherwise (then
        the file is read and its sha256 decides)."""
        rel = file.relative_to(base).as_posix()
        source = str(base / rel)
        old = self.by_source.get(source)  # the same file only: another root's file of the same relative path
        if old is None and (same := self.stored.get(point_id(rel))) is not None and same.source == source:
            old = same  # is read and triaged (the identity rule), never skipped by its stamp
        if old is None or old.settings_fingerprint != self.fingerprint or old.file_size < 0:
            return None
        try:
            info = os.stat(file)
        except OSError:
            return None
        if (info.st_size, info.st_mtime_ns) != (old.file_size, old.file_mtime_ns):
            return None
        return SourceDocument(path=rel, title="", text="", sha256=old.sha256, source=source,
                              file_size=info.st_size, file_mtime_ns=info.st_mtime_ns)

    def _triage(self, read: SourceDocument, force: bool) -> _Triaged:
        """Match ``read`` with its point (the identity rule, see :func:`~longembed.ingest.identity.identify`)."""
        read, old = identify(read, self.stored, self.by_source, self.claimed, by_name=self.by_name)
        pid = point_id(read.path)
        self.claimed[pid] = read.source
        unchanged = bool(
            old and not force and old.sha256 == read.sha256 and old.settings_fingerprint == self.fingerprint
        )
        return _Triaged(read, pid, old, unchanged)

    def prepare(self, reads: list[SourceDocument | ReadFailure], force: bool) -> _Batch:
        """Worker-thread step: sort ``reads`` into failed / unchanged / to embed against what the collection held
        at the start, and clip and tokenize the ones to embed (only once the encoder is loaded; before that the
        main thread does it). Reads nothing the main thread writes."""
        began = time.perf_counter()
        batch = _Batch(
            failures=[r for r in reads if isinstance(r, ReadFailure)],
            triaged=[self._triage(r, force) for r in reads if isinstance(r, SourceDocument)],
        )
        encoder, docs = self.encoder, batch.to_embed
        if self.sparse.active and docs:
            counted = time.perf_counter()
            batch.term_counts = [self.sparse.analyzer.term_counts(d.text) for d in docs]
            self.summary.sparse_seconds += time.perf_counter() - counted
        if encoder is not None and docs:
            batch.ready = _make_ready(docs, encoder, self.settings)
        self.add_time("prepare", began)
        return batch

    def process(self, batch: _Batch) -> None:
        """Record one prepared batch (failures, notes, unchanged documents), then embed and write the rest."""
        for failure in batch.failures:
            log.info("could not read %s: %s", failure.path, failure.reason)  # listed in the summary
            self.summary.failed.append(failure)
        for t in batch.triaged:
            if t.read.note:
                log.warning("%s: %s", shown_path(t.read.path), t.read.note)
                self.summary.notes.append(f"{t.read.path}: {t.read.note}")
            self.seen.add(t.point_id)
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

    def finish(self) -> None:
        """After the last batch: recount the ``bm25`` length statistics (re-weighting when the mean drifted)."""
        if self.summary.documents or self.summary.pruned:
            began = time.perf_counter()
            self.sparse.finish(self.store, self.collection)
            self.summary.sparse_seconds += time.perf_counter() - began

    def _ready_encoder(self) -> Encoder:
        """The encoder (loaded on first use) and, before the first write, the collection."""
        if self.encoder is None:
            self.encoder = self.options.build(self.settings)
            if self.settings.extend == "none":
                log.warning(
                    "--extend none truncates every document at %d tokens (the model's %d, or --max-length if smaller)",
                    self.encoder.extender.content_limit + self.encoder.framing.n_special,
                    self.encoder.original_length,
                )
        if not self.collection_ready:
            self.store.ensure_collection(
                self.collection,
                self.settings,
                self.encoder.dimension,
                with_chunks=self.with_chunks or self.settings.has_passages,
                sparse=self.sparse.settings,
            )
            self.collection_ready = True
        return self.encoder

    def _embed_and_store(
        self, batch: list[SourceDocument], ready: _Ready | None, term_counts: list | None = None
    ) -> None:
        encoder = self._ready_encoder()
        limit = encoder.extender.content_limit + encoder.framing.n_special
        at_max_length = limit == encoder.settings.max_length
        hint = (
            "raise --max-length to keep more" if at_max_length
            else f"--extend none keeps the model's {encoder.original_length} tokens: choose a method (e.g. --extend "
            "pi) and --max-length to keep more"
        )
        if ready is None:  # the worker thread ran before the encoder was loaded
            began = time.perf_counter()
            ready = _make_ready(batch, encoder, self.settings)
            self.add_time("prepare", began)
        began = time.perf_counter()
        with self.progress.encoding(encoder, len(batch), ready.prepared):
            embedded = _encode_each_on_error(
                encoder, ready, batch, self.summary, keep_segments=self.with_chunks, settings=self.settings
            )
        self.add_time("encode", began)
        stored = []
        if self.sparse.active and term_counts is None:  # the batch was prepared before this collection existed
            term_counts = [self.sparse.analyzer.term_counts(d.text) for d in batch]
        avgdl = self.sparse.reference(term_counts)
        for i, (doc, emb, was_clipped) in enumerate(zip(batch, embedded, ready.clipped)):
            if emb is None:
                continue
            extra = {}
            sparse = None
            chunks = emb.segment_vectors.tolist() if self.with_chunks else None
            if ready.passages is not None:
                chunks, extra["passages"] = _passage_fields(emb, ready.passages[i], len(doc.text))
            if term_counts is not None:
                counts, length = term_counts[i]
                sparse = document_weights(counts, length, avgdl, self.sparse.settings)
                extra["bm25_length"] = length
            if emb.truncated:
                more = "more than " if was_clipped else ""
                log.info(  # with --verbose; the run ends with one warning that counts them
                    "%s has %s%d tokens; truncated to %d (%s)", shown_path(doc.path), more, emb.n_tokens, limit, hint
                )
                self.summary.truncated.append(doc.path)
                if emb.n_tokens > self.summary.longest_truncated:
                    self.summary.longest_truncated, self.summary.longest_clipped = emb.n_tokens, was_clipped
                self.summary.truncated_to, self.summary.truncation_hint = limit, hint
            (self.summary.updated if point_id(doc.path) in self.stored else self.summary.new).append(doc.path)
            self.summary.documents += 1
            self.summary.tokens += min(emb.n_tokens, limit)
            stored.append(
                StoredDocument(
                    path=doc.path,
                    vector=emb.vector.tolist(),
                    payload=DocumentPayload(
                        path=doc.path,
                        title=doc.title,
                        sha256=doc.sha256,
                        n_tokens=emb.n_tokens,
                        truncated=emb.truncated,
                        text=doc.text[:MAX_STORED_TEXT_CHARS],
                        text_chars=len(doc.text),
                        source=doc.source,
                        encoding=doc.encoding,
                        settings_fingerprint=self.fingerprint,
                        file_size=doc.file_size,
                        file_mtime_ns=doc.file_mtime_ns,
                        **extra,
                    ),
                    chunks=chunks,
                    sparse=sparse,
                )
            )
        began = time.perf_counter()
        self.store.upsert(self.collection, stored)
        self.add_time("write", began)


def _clip(text: str, encoder: Encoder) -> tuple[str, bool]:
    """A prefix of ``text`` whose first (content limit) tokens are those of the whole text, and whether it was cut.

    Texts up to (limit + margin) × :data:`CLIP_CHARS_PER_TOKEN` characters are returned whole; longer ones are
    cut to growing prefixes (×4 each time) until a prefix has more than limit + margin tokens, or
    :data:`CLIP_GROWTH_STEPS` prefixes were tried (then the next, 16 times the first, is kept).
    """
    limit = encoder.extender.content_limit + CLIP_MARGIN_TOKENS
    budget = limit * CLIP_CHARS_PER_TOKEN
    for _ in range(CLIP_GROWTH_STEPS):
        if budget >= len(text):
            return text, False
        head = text[:budget]
        if len(encoder.tokenize([head])[0]) > limit:
            return head, True
        budget *= 4
    return (text, False) if budget >= len(text) else (text[:budget], True)


def _passage_fields(emb, passages: list[Passage], n_chars: int) -> tuple[list[list[float]], list[list[int]]]:
    """The ``chunks`` multivector (one vector per passage) and the ``passages`` payload ([start, end) characters of
    each) of one document; a document without tokens gets its ``doc`` vector as its one passage."""
    if not passages or emb.passage_vectors is None or len(emb.passage_vectors) == 0:
        return [emb.vector.tolist()], [[0, min(n_chars, MAX_STORED_TEXT_CHARS)]]
    return emb.passage_vectors.tolist(), [[p.start, p.end] for p in passages]


def _encode_each_on_error(
    encoder: Encoder, ready: _Ready, batch: list[SourceDocument], summary: IngestSummary, keep_segments: bool,
    settings: IndexSettings | None = None,
):
    """Encode a batch; if that fails, encode its documents one by one and list the ones that fail alone."""
    extra = {"keep_segments": True} if keep_segments else {}  # plain encoders need not know the option
    try:
        return encoder.encode_prepared(ready.prepared, **extra)
    except (LongEmbedError, KeyboardInterrupt):
        raise
    except Exception:
        if len(batch) == 1:
            raise
    out = []
    for text, doc in zip(ready.texts, batch):
        try:
            if ready.passages is not None:  # one document with its passages, as the batch prepared them
                alone = _make_ready([doc], encoder, settings)
                out.append(encoder.encode_prepared(alone.prepared, **extra)[0])
            else:
                out.append(encoder.encode([text], kind="document", **extra)[0])
        except (LongEmbedError, KeyboardInterrupt):
            raise
        except Exception as exc:
            reason = f"could not embed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            log.warning("could not embed %s: %s", shown_path(doc.path), reason)
            summary.failed.append(ReadFailure(doc.path, reason))
            out.append(None)
    return out


def _is_under(source: str, root: Path) -> bool:
    path = PurePath(source)
    return path == root or root in path.parents


def _prune(listing: Listing, run: _Run, store: Store, collection: str) -> list[str]:
    """Delete the points whose source file lies under the ingested root but is no longer listed (or vanished).

    Points without a recorded source (written by older versions) are never pruned.
    """
    present = {str(f) for f in listing.files}
    vanished = {f.path for f in run.summary.failed if f.missing}
    gone = [
        state
        for pid, state in run.stored.items()
        if state.source
        and pid not in run.seen
        and _is_under(state.source, listing.root)
        and (state.source not in present or state.path in vanished)
    ]
    gone.sort(key=lambda s: s.path)
    if gone:
        store.delete(collection, [s.point_id for s in gone])
        for state in gone:
            log.info("pruned %s (file gone)", state.path)
    return [s.path for s in gone]
