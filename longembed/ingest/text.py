"""Plain-text files (``.txt``, ``.md``) as one LlamaIndex document: encoding detection and a binary check.

Decoding order: a byte-order mark (UTF-8/16/32) wins; otherwise strict UTF-8; otherwise, when the file is
mostly UTF-8 (more valid non-ASCII characters than invalid sequences: a damaged UTF-8 file), UTF-8 with the
invalid sequences replaced by U+FFFD; otherwise the encoding that ``charset-normalizer`` finds most plausible
(ties go to cp1252, the most common legacy encoding); otherwise UTF-8 with replacement. Every fallback is
reported in ``metadata["decode_note"]``.
Files with NUL bytes and no byte-order mark, or whose decoded text is mostly control or replacement
characters, are refused as binary.
"""

from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llama_index.core.readers.base import BaseReader
from llama_index.core.schema import Document

BYTE_ORDER_MARKS = (  # UTF-32 first: its little-endian mark starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
DETECTION_SAMPLE_BYTES = 1 << 18
"""Bytes given to charset-normalizer when a file is not UTF-8 (the whole file is then decoded)."""
BINARY_SAMPLE_CHARS = 1 << 16
BINARY_MAX_CONTROL_FRACTION = 0.10
"""Text whose first :data:`BINARY_SAMPLE_CHARS` characters hold more control (or U+FFFD) characters than
this fraction is treated as binary."""
PREFERRED_LEGACY_ENCODING = "cp1252"


class NotTextError(ValueError):
    """The file holds binary data, not text."""


@dataclass(frozen=True)
class DecodedText:
    """A decoded file: its text, the encoding used, and a note when that was not plain UTF-8."""

    text: str
    encoding: str
    note: str = ""


def _check_text(text: str) -> None:
    sample = text[:BINARY_SAMPLE_CHARS]
    if not sample:
        return
    bad = sum(
        1
        for ch in sample
        if ch == "\ufffd" or (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\v\x1b")
    )
    if bad > BINARY_MAX_CONTROL_FRACTION * len(sample):
        raise NotTextError(f"binary file, not text ({bad} of the first {len(sample)} characters are not text)")


def _detect_legacy_encoding(raw: bytes) -> str | None:
    import charset_normalizer

    matches = list(charset_normalizer.from_bytes(raw[:DETECTION_SAMPLE_BYTES]))
    if not matches:
        return None
    best = matches[0]
    tied = [m.encoding for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    return PREFERRED_LEGACY_ENCODING if PREFERRED_LEGACY_ENCODING in tied else best.encoding


def decode_text(raw: bytes) -> DecodedText:
    """Decode a text file's bytes (order of attempts in the module docstring).

    Raises:
        NotTextError: the bytes are binary data.
    """
    for mark, encoding in BYTE_ORDER_MARKS:
        if raw.startswith(mark):
            text = raw[len(mark) :].decode(encoding, errors="replace")
            _check_text(text)
            note = "" if encoding == "utf-8" else f"decoded as {encoding.upper()} (byte-order mark)"
            if "\ufffd" in text and "\ufffd".encode(encoding) not in raw:
                note = "; ".join(filter(None, [note, "invalid bytes replaced with U+FFFD"]))
            return DecodedText(text, encoding, note)
    if b"\x00" in raw:
        raise NotTextError("binary file, not text (it holds NUL bytes and no UTF-16/32 byte-order mark)")
    try:
        return DecodedText(raw.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    lenient = raw.decode("utf-8", errors="replace")
    replaced = lenient.count("\ufffd") - raw.count("\ufffd".encode())
    valid_non_ascii = len(lenient) - len(lenient.encode("ascii", "ignore")) - lenient.count("\ufffd")
    encoding = None if valid_non_ascii > replaced else _detect_legacy_encoding(raw)
    if encoding and codecs.lookup(encoding).name not in ("utf-8", "ascii"):
        text = raw.decode(encoding, errors="replace")
        _check_text(text)
        note = f"not valid UTF-8 (first invalid byte at offset {first_bad}); decoded as {encoding}"
        return DecodedText(text, encoding, note)
    _check_text(lenient)
    note = (
        f"not valid UTF-8 (first invalid byte at offset {first_bad}); "
        f"{replaced} invalid byte sequence(s) replaced with U+FFFD"
    )
    return DecodedText(lenient, "utf-8", note)


class PlainTextReader(BaseReader):
    """Read a ``.txt``/``.md`` file as one document; ``metadata`` gets ``encoding`` and ``decode_note``, and
    ``title`` when :meth:`to_text` finds one (subclasses such as
    :class:`~longembed.ingest.html.HtmlTextReader` override only :meth:`to_text`).

    Raises:
        NotTextError: the file holds binary data.
        OSError: the file cannot be read.
    """

    def to_text(self, decoded: str) -> tuple[str, str]:
        """``(title, text)`` of a decoded file: no title, the text itself."""
        return "", decoded

    def load_data(self, file: Path, extra_info: dict[str, Any] | None = None, fs: Any = None) -> list[Document]:
        decoded = decode_text(Path(file).read_bytes())
        title, text = self.to_text(decoded.text)
        metadata = {**(extra_info or {}), "encoding": decoded.encoding, "decode_note": decoded.note}
        if title:
            metadata["title"] = title
        return [Document(text=text, metadata=metadata)]
