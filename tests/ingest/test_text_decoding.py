"""Decoding plain-text files and reading odd files, in-process on real bytes."""

from __future__ import annotations

import codecs
import os

import pytest

from longembed.ingest.reader import ReadFailure, read_file, scan
from longembed.ingest.text import DecodedText, NotTextError, decode_text
from files import write_pdf

FRENCH = "Le comité a décidé que la télécommande coûterait 12,50 € et serait livrée en août. " * 2


def test_utf8_and_byte_order_marks():
    assert decode_text("plain ASCII and ünïcödé".encode()) == DecodedText("plain ASCII and ünïcödé", "utf-8", "")
    assert decode_text(codecs.BOM_UTF8 + b"with BOM") == DecodedText("with BOM", "utf-8", "")
    for encoding, mark in (
        ("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-32-be", codecs.BOM_UTF32_BE),
    ):
        decoded = decode_text(mark + "Grüße — 12 €".encode(encoding))
        assert decoded.text == "Grüße — 12 €" and decoded.encoding == encoding
        assert decoded.note == f"decoded as {encoding.upper()} (byte-order mark)"


def test_legacy_encodings_are_detected():
    french = decode_text(FRENCH.encode("cp1252"))
    assert (french.text, french.encoding) == (FRENCH, "cp1252")
    assert french.note == "not valid UTF-8 (first invalid byte at offset 8); decoded as cp1252"
    russian = "Привет, это текст о пульте управления и бюджете проекта."
    assert decode_text(russian.encode("cp1251")).text == russian


def test_mostly_utf8_keeps_utf8_and_replaces_the_bad_bytes():
    raw = "naïve café ".encode() + b"\xc3" + b" end"
    decoded = decode_text(raw)
    assert decoded == DecodedText(
        "naïve café \ufffd end", "utf-8",
        "not valid UTF-8 (first invalid byte at offset 13); 1 invalid byte sequence(s) replaced with U+FFFD",
    )


@pytest.mark.parametrize(
    "raw",
    [bytes(range(256)) * 4, b"\x89PNG\r\n\x1a\n" + bytes(range(1, 32)) * 50, b"text\x00with a NUL byte"],
)
def test_binary_is_refused(raw):
    with pytest.raises(NotTextError, match="binary file, not text"):
        decode_text(raw)


def test_pdf_without_text_and_file_name_that_is_not_utf8(tmp_path):
    write_pdf(tmp_path / "scan.pdf", [""])
    assert read_file(tmp_path, tmp_path / "scan.pdf") == ReadFailure("scan.pdf", "no extractable text (a scanned PDF?)")
    fd = os.open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.txt"), os.O_WRONLY | os.O_CREAT)
    os.write(fd, b"A file whose name is Latin-1.")
    os.close(fd)
    listing = scan(tmp_path)
    odd = next(f for f in listing.files if f.suffix == ".txt")
    assert read_file(listing.base, odd) == ReadFailure("caf?.txt", "file name is not valid UTF-8")


def test_unsupported_single_file_and_folder_without_supported_files(tmp_path):
    from longembed.errors import IngestError

    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    with pytest.raises(IngestError, match=r"is not a supported file type \(\.txt, \.md, \.pdf, \.html, \.htm\)"):
        scan(tmp_path / "image.png")
    with pytest.raises(IngestError, match="no supported files"):
        scan(tmp_path)
