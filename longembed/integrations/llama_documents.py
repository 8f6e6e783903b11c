"""LlamaIndex ``Document`` objects from a folder read by longembed's reader (:func:`documents_from_folder`,
re-exported by :mod:`longembed.integrations.llama_index`)."""

from __future__ import annotations

import logging
from pathlib import Path

from llama_index.core.schema import Document

from longembed.errors import IngestError
from longembed.ingest.reader import ReadFailure, read_documents
from longembed.store import point_id

log = logging.getLogger("longembed.integrations.llama_index")

DOCUMENT_METADATA_KEYS = ("path", "title", "sha256")
"""Metadata of a document read by :func:`documents_from_folder` (none of it is embedded)."""


def documents_from_folder(root: str | Path) -> list[Document]:
    """Read every supported file under ``root`` as one LlamaIndex ``Document`` each, in path order.

    The text is read by longembed's reader (as ``longembed ingest`` does); ``id_`` is the document's point id
    (UUID5 of its path relative to ``root``, so Qdrant accepts it and re-ingesting replaces it); metadata
    holds ``path``, ``title`` and ``sha256`` and is excluded from the embedded text, so each document is
    embedded exactly as ``longembed ingest`` embeds it. Unreadable files are logged and skipped.

    Raises:
        IngestError: ``root`` does not exist, holds no supported file, or no file could be read.
    """
    documents, failures = [], []
    for read in read_documents(root):
        if isinstance(read, ReadFailure):
            log.warning("could not read %s: %s", read.path, read.reason)
            failures.append(read)
            continue
        documents.append(
            Document(
                id_=point_id(read.path),
                text=read.text,
                metadata={"path": read.path, "title": read.title, "sha256": read.sha256},
                excluded_embed_metadata_keys=list(DOCUMENT_METADATA_KEYS),
                excluded_llm_metadata_keys=["sha256"],
            )
        )
    if not documents:
        reasons = "; ".join(f"{f.path}: {f.reason}" for f in failures[:5])
        raise IngestError(f"no document could be read from {str(root)!r} ({reasons})")
    return documents
