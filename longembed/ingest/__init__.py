"""Reading folders into whole documents and writing their embeddings to a store.

Names load on first use (PEP 562), so ``longembed.ingest.limits`` and the readers stay cheap to import (the
command line builds its options from them without loading torch).
"""

from __future__ import annotations

from longembed.lazy import by_name, lazy_exports

_EXPORTS = by_name({
    "longembed.ingest.listing": ("SUPPORTED_EXTENSIONS", "Listing", "ReadFailure", "scan"),
    "longembed.ingest.reader": ("SourceDocument", "read_documents"),
    "longembed.ingest.summary": ("IngestSummary",),
    "longembed.ingest.options": ("IngestOptions",),
    "longembed.ingest.pipeline": ("ingest", "ingest_documents"),
    "longembed.ingest.distributed": ("RayOptions",),
})
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
