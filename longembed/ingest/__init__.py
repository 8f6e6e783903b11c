"""Reading folders into whole documents and writing their embeddings to a store.

Names load on first use (PEP 562), so ``longembed.ingest.limits`` and the readers stay cheap to import (the
command line builds its options from them without loading torch).
"""

from __future__ import annotations

from longembed.lazy import lazy_exports

_EXPORTS = {
    "SUPPORTED_EXTENSIONS": "longembed.ingest.listing",
    "Listing": "longembed.ingest.listing",
    "ReadFailure": "longembed.ingest.listing",
    "SourceDocument": "longembed.ingest.reader",
    "read_documents": "longembed.ingest.reader",
    "scan": "longembed.ingest.listing",
    "IngestSummary": "longembed.ingest.summary",
    "ingest": "longembed.ingest.pipeline",
    "ingest_documents": "longembed.ingest.pipeline",
    "RayOptions": "longembed.ingest.distributed",
    "ingest_on_ray": "longembed.ingest.distributed",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
