"""Reading folders into whole documents and writing their embeddings to Qdrant."""

from longembed.ingest.pipeline import IngestSummary, ingest, ingest_documents
from longembed.ingest.reader import (
    SUPPORTED_EXTENSIONS,
    Listing,
    ReadFailure,
    SourceDocument,
    read_documents,
    scan,
)

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "IngestSummary",
    "Listing",
    "ReadFailure",
    "SourceDocument",
    "ingest",
    "ingest_documents",
    "read_documents",
    "scan",
]
