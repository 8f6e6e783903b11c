"""Ingest across a Ray cluster (``ingest(..., ray=RayOptions())``, ``longembed ingest PATH --ray``): the same run
as :func:`~longembed.ingest.pipeline.ingest` in one process, with reading, tokenizing and the model spread over
Ray workers.

What runs where (each stage is the single-process one, so the points written are the same):

- **driver** (this process): the listing, the skip of unchanged files by size and mtime, the triage against
  what the collection holds (the identity rules, :mod:`longembed.ingest.identity`), the progress bar, the
  summary, ``--prune`` and the ``bm25`` statistics; it writes the points to an embedded store.
- **Ray tasks** (CPU workers): reading files and their ``bm25`` term counts (:func:`read_batch`); tokenizing the
  documents to embed and cutting their passages with the model's
  :class:`~longembed.encoding.prepare.Preparer` (:func:`prepare_batch`); writing points to a Qdrant server
  (:func:`write_points`, only when the store is a server: an embedded store lives in the driver's process).
- **an actor pool** (:class:`EncoderActor`): one actor per GPU (``num_gpus=1``), or CPU actors when the cluster
  has none; a dead actor is restarted by Ray and its batch retried (``max_restarts``/``max_task_retries``).

Batches go through in listing order (FIFO), several at once: the driver triages batch i+1 while actors encode
batch i. A batch whose encoding fails is encoded again one document at a time, so one bad document fails alone,
as in the single-process run. A run killed at any moment is resumed by running it again (the points are the
same; the collection's state decides what is left to embed).

Ray is an optional dependency (``pip install 'longembed[ray]'``); Ray Core's tasks and actors are used rather than
Ray Data's ``map_batches`` because triage must see every batch in the driver between reading and encoding.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tqdm.contrib.logging import logging_redirect_tqdm

from longembed.errors import LongEmbedError
from longembed.ingest.encoder_pool import EncoderPool
from longembed.ingest.limits import ReadLimits
from longembed.ingest.options import IngestOptions
from longembed.ingest.points import encode_each_on_error
from longembed.ingest.progress import IngestProgress
from longembed.ingest.ray_tasks import import_ray, ray_tasks
from longembed.ingest.reader import Listing, SourceDocument, file_bytes, scan
from longembed.ingest.run import IngestRun, listing_summary, warn_truncated
from longembed.models.paths import resolve_model_path, with_model_defaults
from longembed.settings import IndexSettings, RunOptions
from longembed.store import VectorStore
from longembed.store.backends import BACKENDS

log = logging.getLogger("longembed.ingest.pipeline")


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide a Ray ingest runs.

    Attributes:
        address: a running cluster (``auto``, ``HOST:PORT`` or ``ray://HOST:10001``); ``None`` or ``""``: start a
            local Ray instance for this run (stopped at its end).
        encoders: encoder actors; ``None``: one per GPU of the cluster, or one CPU actor when it has none.
        num_cpus: CPUs of a local instance started for this run (``None``: this machine's); ignored with an
            ``address``.
        batches_ahead: batches in flight per encoder actor (read, tokenized or encoding) beyond the one it runs.
    """

    address: str | None = None
    encoders: int | None = None
    num_cpus: int | None = None
    batches_ahead: int = 2


def run_on_ray(
    ray_options: RayOptions,
    root: str | Path | Listing,
    settings: IndexSettings,
    store: VectorStore,
    collection: str,
    options: IngestOptions,
    force: bool,
    rehash: bool,
    by_name: bool,
    limits: ReadLimits | None,
) -> tuple[IngestRun, Listing]:
    """The batches of :func:`~longembed.ingest.pipeline.ingest` with ``ray=ray_options`` (its arguments, same
    meaning; ``options.encoder`` is ``None``): start or join the cluster, check the settings, read, embed and write
    every file, stop what this run started. Returns the run (its summary) and the listing; ``ingest`` then prunes
    and completes the run.

    Raises:
        LongEmbedError: Ray is not installed (one line saying how to install it), or the cluster cannot be
            reached.
        StoreError, ModelLoadError, ExtensionError: as :func:`~longembed.ingest.pipeline.ingest`.
    """
    ray = import_ray()
    listing = root if isinstance(root, Listing) else scan(root)
    model_path, run = options.model_path, options.run
    if model_path is None:
        model_path = resolve_model_path(settings.model)  # a missing model path fails before any file is read
        settings = with_model_defaults(settings, model_path=model_path)
    with _ray_session(ray, ray_options):
        gpus = int(ray.cluster_resources().get("GPU", 0))
        use_gpu = gpus > 0 and not (run or RunOptions()).device.startswith("cpu")
        state = IngestRun.start(settings, store, collection, None, run, listing_summary(listing),
                                sparse=options.sparse, by_name=by_name, on_cpu=not use_gpu, model_path=model_path)
        n_encoders = ray_options.encoders or (gpus if use_gpu else 1)
        node_cpus = max((int(n["Resources"].get("CPU", 1)) for n in ray.nodes() if n.get("Alive")), default=1)
        pool = EncoderPool(ray, state.settings, state.run, n_encoders, use_gpu=use_gpu,
                           threads=max(min(node_cpus, int(ray.cluster_resources().get("CPU", 1)) // n_encoders), 1))
        state.encoder_factory = pool.encoder
        try:
            _RayLoop(ray, state, pool, listing, force, rehash, limits, ray_options.batches_ahead,
                     _server_url(store)).run(options.docs_per_batch, options.progress)
        finally:
            pool.close()
    return state, listing


class _ray_session:  # noqa: N801 (a context manager used as a function)
    """Connect to ``options.address`` or start a local instance; stop only an instance this run started."""

    def __init__(self, ray, options: RayOptions) -> None:
        self.ray, self.options, self.started = ray, options, False

    def __enter__(self) -> None:
        if self.ray.is_initialized():
            return
        address = self.options.address or None
        kwargs = {"num_cpus": self.options.num_cpus} if address is None and self.options.num_cpus else {}
        try:
            self.ray.init(address=address, include_dashboard=False, log_to_driver=False,
                          logging_level=logging.ERROR, **kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise LongEmbedError(f"cannot reach the Ray cluster {address!r}: {str(exc).splitlines()[0]}") from None
        self.started = True

    def __exit__(self, *exc: object) -> None:
        if self.started:
            self.ray.shutdown()


def _result(ray, ref):
    """``ray.get(ref)``, raising a task's own LongEmbedError (a StoreError of a server write, say) as itself: one
    line for the command line, not Ray's wrapped traceback."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, LongEmbedError):
            raise exc.cause from None
        raise


def _server_url(store: VectorStore) -> str | None:
    """The URL of a Qdrant server store (its workers write to it directly); ``None`` for an embedded store."""
    location = str(getattr(store, "location", "") or "")
    return location if urlsplit(location).scheme in BACKENDS else None


@dataclass
class _InFlight:
    """One batch between the driver's triage and its write."""

    batch: object
    docs: list[SourceDocument]
    ready_ref: object
    facts_ref: object
    embedded_ref: object
    n_bytes: int


class _RayLoop:
    """The driver's loop: reads submitted ahead, triage in order, encodes on the pool, writes in order."""

    def __init__(self, ray, state: IngestRun, pool: EncoderPool, listing: Listing, force: bool, rehash: bool,
                 limits: ReadLimits | None, batches_ahead: int, server_url: str | None) -> None:
        self.ray, self.state, self.pool, self.listing = ray, state, pool, listing
        self.tasks = ray_tasks(ray)
        self.force, self.rehash, self.limits, self.server_url = force, rehash, limits, server_url
        self.encoding = max(pool.size * batches_ahead, 1)
        """Batches triaged and sent to the pool (tokenizing, queued or encoding) before the driver waits for one."""
        self.window = self.encoding + 2
        """Batches in flight in all, reads included."""
        self.writes: deque = deque()
        self.analyzer_settings = state.sparse.settings if state.sparse.active else None

    def run(self, docs_per_batch: int, progress: bool) -> None:
        files = self.listing.files
        batches = [files[i : i + docs_per_batch] for i in range(0, len(files), docs_per_batch)]
        sizes = [sum(file_bytes(f) for f in batch) for batch in batches]
        reads: deque = deque()
        encodes: deque[_InFlight] = deque()
        pending = deque(zip(batches, sizes))
        with IngestProgress(len(files), enabled=progress, total_bytes=sum(sizes)) as self.state.progress, \
                logging_redirect_tqdm():
            while pending or reads or encodes:
                while pending and len(reads) + len(encodes) < self.window:
                    reads.append(self._submit_read(*pending.popleft()))
                if encodes and (len(encodes) >= self.encoding or not reads):
                    self._write(encodes.popleft())
                    continue
                flight = self._triage(*reads.popleft())
                if flight is not None:
                    encodes.append(flight)
            self._wait_writes(0)
        warn_truncated(self.state.summary)

    def _submit_read(self, batch: list[Path], n_bytes: int):
        """Stamps of unchanged files (no read), and one read task for the others, in listing order."""
        known = [None if (self.force or self.rehash) else self.state.triage.unchanged_stamp(self.listing.base, f)
                 for f in batch]
        to_read = [f for stamp, f in zip(known, batch) if stamp is None]
        ref = None
        if to_read:  # a file to read is likely a document to embed: the actors load the model meanwhile
            self.pool.start()
            ref = self.tasks.read.remote(self.listing.base, to_read, self.limits, self.analyzer_settings)
        return known, ref, n_bytes

    def _triage(self, known: list, ref, n_bytes: int) -> _InFlight | None:
        """Triage one batch of reads in the driver, record what needs no model, send the rest to the pool."""
        state = self.state
        began = time.perf_counter()
        reads, counts = _result(self.ray, ref) if ref is not None else ([], [])
        state.add_time("read", began)
        fresh, counted = iter(reads), iter(counts)
        merged = [stamp if stamp is not None else next(fresh) for stamp in known]
        merged_counts = [None if stamp is not None else next(counted) for stamp in known]
        docs_counts = [c for r, c in zip(merged, merged_counts) if isinstance(r, SourceDocument)]
        batch = state.triage.sort(merged, self.force)
        state.record(batch)
        docs = batch.to_embed
        if not docs:
            state.progress.batch_done(batch.size, tokens=state.summary.tokens, n_bytes=n_bytes)
            return None
        if state.sparse.active:
            todo = [c for t, c in zip(batch.triaged, docs_counts) if not t.unchanged]
            batch.term_counts = [c if c is not None else state.sparse.analyzer.term_counts(d.text)
                                 for c, d in zip(todo, docs)]
        state.ready_encoder()  # the pool's actors load the model on the first batch that needs it; the collection
        ready_ref, facts_ref = self.tasks.prepare.remote(self.pool.preparer_ref, docs, state.settings)
        embedded_ref = self.pool.submit(ready_ref, state.with_windows)
        return _InFlight(batch, docs, ready_ref, facts_ref, embedded_ref, n_bytes)

    def _write(self, flight: _InFlight) -> None:
        """Wait for one batch's vectors and write its points (a failed batch is encoded again one by one)."""
        state = self.state
        began = time.perf_counter()
        ready = _result(self.ray, flight.facts_ref)  # clipped and passages; the token ids stay with the workers
        try:
            embedded = self.ray.get(flight.embedded_ref)
        except Exception as exc:  # noqa: BLE001 (a RayTaskError wraps the model's exception)
            cause = getattr(exc, "cause", exc)
            if isinstance(cause, (LongEmbedError, KeyboardInterrupt)):
                raise cause from None
            embedded = encode_each_on_error(
                state.encoder, self.ray.get(flight.ready_ref), flight.docs, state.summary.failed, state.with_windows,
                lambda d: self.ray.get(self.tasks.prepare.remote(self.pool.preparer_ref, [d], state.settings)[0]),
            )
        state.add_time("encode", began)
        if self.server_url is None:
            state.store_points(flight.docs, ready, embedded, flight.batch.term_counts)
        else:  # the points go to the server from a worker; the driver only counts them
            self._wait_writes(self.pool.size)
            points = state.build_points(flight.docs, ready, embedded, flight.batch.term_counts)
            self.writes.append(self.tasks.write.remote(self.server_url, state.collection, points))
        state.progress.batch_done(flight.batch.size, tokens=state.summary.tokens, n_bytes=flight.n_bytes)

    def _wait_writes(self, keep: int) -> None:
        """Wait until at most ``keep`` server writes are in flight (a failed write raises its StoreError)."""
        while len(self.writes) > keep:
            began = time.perf_counter()
            _result(self.ray, self.writes.popleft())
            self.state.add_time("write", began)

