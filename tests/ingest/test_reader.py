"""Reading real files of every supported type into whole documents."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from files import write_pdf

from longembed.errors import IngestError
from longembed.ingest.reader import ReadFailure, SourceDocument, list_files, read_documents


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("The budget is 12.50 euros per remote control.")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "design.md").write_text("intro line\n# Remote design\nRubber buttons.")
    (tmp_path / "page.html").write_text(
        "<html><head><title>Kickoff</title><style>p {color: red}</style>"
        "<script>var secret = 'hidden';</script></head>"
        "<body><h1>Agenda</h1><p>Pick a <b>trendy</b> look.</p><script>track()</script></body></html>"
    )
    write_pdf(tmp_path / "report.pdf", ["First page text", "Second page text"])
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")  # unsupported: skipped
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD.txt").write_text("ref: refs/heads/main")  # hidden: skipped
    return tmp_path


def test_reads_every_supported_type_as_one_document(folder):
    docs = {d.path: d for d in read_documents(folder)}
    assert sorted(docs) == ["empty.txt", "notes.txt", "page.html", "report.pdf", "sub/design.md"]
    assert isinstance(docs["empty.txt"], ReadFailure) and docs["empty.txt"].reason == "empty file"
    notes = docs["notes.txt"]
    assert isinstance(notes, SourceDocument)
    assert notes.text == "The budget is 12.50 euros per remote control."
    assert notes.title == "notes"
    assert notes.sha256 == hashlib.sha256(notes.text.encode()).hexdigest()
    html = docs["page.html"]
    assert html.title == "Kickoff"
    assert html.text == "Agenda\nPick a trendy look."
    assert "secret" not in html.text and "track" not in html.text and "color" not in html.text
    assert docs["sub/design.md"].title == "Remote design"
    pdf = docs["report.pdf"]
    assert "First page text" in pdf.text and "Second page text" in pdf.text  # whole document, both pages


def test_single_file_is_accepted(folder):
    base, files = list_files(folder / "notes.txt")
    assert base == folder.resolve() and files == [(folder / "notes.txt").resolve()]


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(IngestError, match="does not exist"):
        list_files(tmp_path / "nope")
    (tmp_path / "only.bin").write_bytes(b"\x00")
    with pytest.raises(IngestError, match="no supported files"):
        list_files(tmp_path)
