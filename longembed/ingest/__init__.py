"""Reading folders into whole documents and writing their embeddings to Qdrant."""

from longembed.ingest.pipeline import IngestSummary, ingest
from longembed.ingest.reader import SUPPORTED_EXTENSIONS, ReadFailure, SourceDocument, read_documents

__all__ = ["SUPPORTED_EXTENSIONS", "IngestSummary", "ReadFailure", "SourceDocument", "ingest", "read_documents"]
