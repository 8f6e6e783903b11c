"""The keyword options every ingest takes, defined once: :func:`~longembed.ingest.pipeline.ingest` (a folder) and
:func:`~longembed.ingest.pipeline.ingest_documents` (documents in memory) both take them as ``**options`` and
check them by building an :class:`IngestOptions`; the Ray loop gets the built object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from longembed.encoding import EncoderProtocol
    from longembed.settings import RunOptions
    from longembed.sparse.bm25_run import SparseChoice

DEFAULT_DOCS_PER_BATCH = 8


@dataclass(frozen=True)
class IngestOptions:
    """How one ingest embeds and writes (nothing here is recorded in the collection, except what ``sparse`` gives a
    new one).

    Attributes:
        encoder: an already built encoder for the settings (otherwise built when first needed, with ``run``'s
            ``device``, ``dtype`` and ``batch_tokens``, see :class:`~longembed.encoding.encoder.Encoder`).
        docs_per_batch: documents read and embedded together; the next batch is read and tokenized in a worker
            thread while the model encodes the current one.
        progress: show a progress bar on standard error.
        run: where and how the model runs (:class:`~longembed.settings.RunOptions`; ``None``: the defaults).
        sparse: ``bm25`` gives a new collection the ``bm25`` sparse vector (:mod:`longembed.sparse`); ``none``
            does not. An existing collection keeps what it has.
        model_path: the model's folder when the settings were already resolved with it
            (:func:`~longembed.models.paths.with_model_defaults`, as the CLI does); ``None``: resolved here.
        prepare_workers: processes that tokenize and cut passages ahead of the model
            (:class:`~longembed.ingest.prepare_workers.PreparePool`); 0: the worker thread does it; ``None``
            (auto): 0 on a CPU, one per core but one (at most 8) on a GPU for runs of 4 batches or more. The points
            are the same either way.
    """

    encoder: EncoderProtocol | None = None
    docs_per_batch: int = DEFAULT_DOCS_PER_BATCH
    progress: bool = True
    run: RunOptions | None = None
    sparse: SparseChoice = "bm25"
    model_path: str | None = None
    prepare_workers: int | None = None
