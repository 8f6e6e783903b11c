"""The encoding stages of the data path: :mod:`~longembed.encoding.prepare` (prefix, clip, tokenize, extender
segments), :mod:`~longembed.encoding.spans` (sentence and passage spans with exact offsets),
:mod:`~longembed.encoding.late_chunking` (which inputs late passage vectors pool from),
:mod:`~longembed.encoding.forward` (token-budget batches, padded inputs), :mod:`~longembed.encoding.pooling`
(mask or span pooling, Dense head, normalisation), :mod:`~longembed.encoding.encoder` (the facade) and
:mod:`~longembed.encoding.protocol` (what callers rely on).

``from longembed.encoding import Encoder`` loads torch only when a name is first used (PEP 562), so the
passage and protocol modules stay cheap to import.
"""

from __future__ import annotations

from longembed.lazy import by_name, lazy_exports

_EXPORTS = by_name({
    "longembed.encoding.encoder": ("Embedded", "Encoder"),
    "longembed.encoding.protocol": ("EncoderProtocol",),
    "longembed.encoding.prepare": ("PreparedTexts", "Preparer"),
    "longembed.encoding.pooling": ("pool",),
})
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports(__name__, _EXPORTS)
