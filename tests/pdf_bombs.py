"""PDFs that are small on disk and slow to read, built with pypdf's writer (issue 14 row 7)."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

TEXT_OPERATOR = b"BT /F1 12 Tf 10 10 Td (slow) Tj ET\n"


def shared_stream_pdf(path: Path, pages: int = 20, content_bytes: int = 1_000_000) -> None:
    """``pages`` pages whose /Contents are one Flate-compressed stream of ``content_bytes`` of text operators
    (about 6.6 KB on disk; pypdf takes about 6 s per page to extract it on one core)."""
    writer = PdfWriter()
    font = writer._add_object(DictionaryObject({
        NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"),
        NameObject("/BaseFont"): NameObject("/Helvetica"),
    }))
    stream = DecodedStreamObject()
    stream.set_data(TEXT_OPERATOR * (content_bytes // len(TEXT_OPERATOR)))
    shared = writer._add_object(stream.flate_encode())
    for _ in range(pages):
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Contents")] = shared
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
    with path.open("wb") as out:
        writer.write(out)
