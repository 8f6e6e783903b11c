"""Reading folders into whole documents and writing their embeddings to a store.

Names load on first use (PEP 562), so ``longembed.ingest.limits`` and the readers stay cheap to import (the
command line builds its options from them without loading torch).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "SUPPORTED_EXTENSIONS": "longembed.ingest.reader",
    "Listing": "longembed.ingest.reader",
    "ReadFailure": "longembed.ingest.reader",
    "SourceDocument": "longembed.ingest.reader",
    "read_documents": "longembed.ingest.reader",
    "scan": "longembed.ingest.reader",
    "IngestSummary": "longembed.ingest.summary",
    "ingest": "longembed.ingest.pipeline",
    "ingest_documents": "longembed.ingest.pipeline",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'longembed.ingest' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
