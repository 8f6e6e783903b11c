"""Reading a folder (or one file) into whole documents with LlamaIndex's ``SimpleDirectoryReader``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from llama_index.core import SimpleDirectoryReader
from llama_index.readers.file import PDFReader

from longembed.errors import IngestError
from longembed.ingest.html import HtmlTextReader

SUPPORTED_EXTENSIONS = (".txt", ".md", ".pdf", ".html", ".htm")


@dataclass(frozen=True)
class SourceDocument:
    """One file read as a whole document.

    Attributes:
        path: path relative to the ingested root, POSIX separators (the point id derives from it).
        title: HTML ``<title>``, a Markdown file's first ``#`` heading, else the file name without extension.
        text: the full text (PDF pages joined, HTML converted to text).
        sha256: hex digest of ``text`` encoded as UTF-8.
    """

    path: str
    title: str
    text: str
    sha256: str


@dataclass(frozen=True)
class ReadFailure:
    """A file that could not be read, and why."""

    path: str
    reason: str


def _file_extractor() -> dict:
    html = HtmlTextReader()
    return {".pdf": PDFReader(return_full_document=True), ".html": html, ".htm": html}


def list_files(root: str | Path) -> tuple[Path, list[Path]]:
    """The base directory and the supported, non-hidden files under ``root`` (recursively), sorted.

    ``root`` may be a folder or a single file (its base directory is then its parent).

    Raises:
        IngestError: ``root`` does not exist, or holds no supported file.
    """
    root = Path(root).expanduser()
    if not root.exists():
        raise IngestError(f"path {str(root)!r} does not exist")
    exts = ", ".join(SUPPORTED_EXTENSIONS)
    if root.is_file():
        if root.suffix.lower() not in SUPPORTED_EXTENSIONS:
            raise IngestError(f"{str(root)!r} is not a supported file type ({exts})")
        return root.resolve().parent, [root.resolve()]
    try:
        reader = SimpleDirectoryReader(input_dir=str(root), recursive=True, required_exts=list(SUPPORTED_EXTENSIONS))
    except ValueError:
        raise IngestError(f"no supported files ({exts}) under {str(root)!r}") from None
    return root.resolve(), sorted(Path(f).resolve() for f in reader.input_files)


def _title(path: Path, text: str, metadata: dict) -> str:
    if metadata.get("title"):
        return str(metadata["title"])
    if path.suffix.lower() == ".md":
        for line in text.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return path.stem


def read_file(base: Path, file: Path) -> SourceDocument | ReadFailure:
    """Read one file with the reader LlamaIndex picks for its extension; never raises for a bad file."""
    rel = file.relative_to(base).as_posix()
    try:
        parts = SimpleDirectoryReader.load_file(
            file,
            file_metadata=lambda _: {},
            file_extractor=_file_extractor(),
            raise_on_error=True,
            errors="replace",
        )
    except Exception as exc:  # readers raise anything from OSError to pypdf errors
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return ReadFailure(rel, reason)
    text = "\n\n".join(p.text for p in parts if p.text)
    if not text.strip():
        return ReadFailure(rel, "no text in file")
    metadata = parts[0].metadata if parts else {}
    return SourceDocument(
        path=rel,
        title=_title(file, text, metadata),
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
    )


def read_documents(root: str | Path) -> Iterator[SourceDocument | ReadFailure]:
    """Read every supported file under ``root`` lazily, one whole document per file, in path order."""
    base, files = list_files(root)
    for file in files:
        yield read_file(base, file)
