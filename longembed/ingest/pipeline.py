"""Ingest: read a folder (or take documents in memory) -> embed whole documents -> write them to a Qdrant collection."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from longembed.encoder import Encoder, with_model_prompts
from longembed.errors import IngestError
from longembed.ingest.reader import ReadFailure, SourceDocument, list_files, read_file
from longembed.settings import IndexSettings
from longembed.store import Store, StoredDocument

log = logging.getLogger(__name__)

DEFAULT_DOCS_PER_BATCH = 8


@dataclass
class IngestSummary:
    """What one ingest run did. Times in seconds, lengths in tokens."""

    documents: int = 0
    tokens: int = 0
    truncated: list[str] = field(default_factory=list)
    failed: list[ReadFailure] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"ingested {self.documents} documents ({self.tokens} tokens), {len(self.truncated)} truncated, "
            f"{len(self.failed)} failed, in {self.seconds:.1f} s"
        )


def ingest(
    root: str | Path,
    settings: IndexSettings,
    store: Store,
    collection: str,
    encoder: Encoder | None = None,
    docs_per_batch: int = DEFAULT_DOCS_PER_BATCH,
    progress: bool = True,
) -> IngestSummary:
    """Embed every supported file under ``root`` as one whole document and upsert it into ``collection``.

    Documents longer than ``settings.max_length`` tokens are truncated with a warning naming the file and
    its token count; the payload records ``n_tokens`` and ``truncated``. Files that cannot be read are
    listed in the summary; the others are still ingested.

    Raises:
        IngestError: ``root`` is missing or has no supported file, or no document could be ingested.
        StoreError: the collection exists with other settings (checked before the model is loaded).
        ModelLoadError, ExtensionError: from building the encoder.
    """
    started = time.perf_counter()
    base, files = list_files(root)
    settings = with_model_prompts(settings)  # record the prefixes actually used
    if store.exists(collection):
        store.check_settings(collection, settings)  # fail before loading the model
    encoder = encoder or Encoder(settings)
    store.ensure_collection(collection, settings, encoder.dimension)
    summary = IngestSummary()
    bar = tqdm(total=len(files), unit="doc", desc="ingest", disable=not progress)
    with bar, logging_redirect_tqdm():
        for start in range(0, len(files), docs_per_batch):
            batch: list[SourceDocument] = []
            for file in files[start : start + docs_per_batch]:
                read = read_file(base, file)
                if isinstance(read, ReadFailure):
                    log.warning("could not read %s: %s", read.path, read.reason)
                    summary.failed.append(read)
                else:
                    batch.append(read)
            _embed_and_store(batch, encoder, store, collection, summary)
            bar.update(len(files[start : start + docs_per_batch]))
            elapsed = time.perf_counter() - started
            bar.set_postfix(tok_s=f"{summary.tokens / max(elapsed, 1e-9):.0f}")
    summary.seconds = time.perf_counter() - started
    if summary.documents == 0:
        reasons = "; ".join(f"{f.path}: {f.reason}" for f in summary.failed[:5])
        raise IngestError(f"no document could be ingested from {str(root)!r} ({reasons})")
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
) -> IngestSummary:
    """Embed documents already in memory (e.g. a benchmark corpus) and upsert them into ``collection``.

    The same embed-and-store step as :func:`ingest`; a document's point id derives from its ``path``.
    With ``with_chunks`` every document also gets a ``chunks`` multivector: the vectors of the model inputs
    the extender split it into (``pcw``: its L_o-token windows), for the chunked MaxP baseline.

    Raises:
        IngestError: ``documents`` is empty.
        StoreError: the collection exists with other settings (checked before the model is loaded).
        ModelLoadError, ExtensionError: from building the encoder.
    """
    started = time.perf_counter()
    if not documents:
        raise IngestError(f"no document to ingest into collection {collection!r}")
    settings = with_model_prompts(settings)  # record the prefixes actually used
    if store.exists(collection):
        store.check_settings(collection, settings)
    encoder = encoder or Encoder(settings)
    store.ensure_collection(collection, settings, encoder.dimension, with_chunks=with_chunks)
    summary = IngestSummary()
    bar = tqdm(total=len(documents), unit="doc", desc="ingest", disable=not progress)
    with bar, logging_redirect_tqdm():
        for start in range(0, len(documents), docs_per_batch):
            batch = list(documents[start : start + docs_per_batch])
            _embed_and_store(batch, encoder, store, collection, summary, with_chunks=with_chunks)
            bar.update(len(batch))
    summary.seconds = time.perf_counter() - started
    return summary


def _embed_and_store(
    batch: list[SourceDocument],
    encoder: Encoder,
    store: Store,
    collection: str,
    summary: IngestSummary,
    with_chunks: bool = False,
) -> None:
    if not batch:
        return
    embedded = encoder.encode([d.text for d in batch], kind="document", keep_segments=with_chunks)
    limit = encoder.extender.content_limit + encoder.framing.n_special
    hint = "raise --max-length to keep more" if limit == encoder.settings.max_length else "--extend none keeps L_o tokens"
    stored = []
    for doc, emb in zip(batch, embedded):
        if emb.truncated:
            log.warning("%s has %d tokens; truncated to %d (%s)", doc.path, emb.n_tokens, limit, hint)
            summary.truncated.append(doc.path)
        summary.documents += 1
        summary.tokens += min(emb.n_tokens, limit)
        stored.append(
            StoredDocument(
                path=doc.path,
                vector=emb.vector.tolist(),
                payload={
                    "path": doc.path,
                    "title": doc.title,
                    "sha256": doc.sha256,
                    "n_tokens": emb.n_tokens,
                    "truncated": emb.truncated,
                    "text": doc.text,
                },
                chunks=emb.segment_vectors.tolist() if with_chunks else None,
            )
        )
    store.upsert(collection, stored)
