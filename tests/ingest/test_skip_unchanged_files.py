"""Re-ingest skips unchanged files by (size, mtime) before parsing them; the sha256 decides once either changed.

Real MiniLM weights with ``--extend none --max-length 128``-style settings; the parsers are
our PDF worker (``read_pdf``) and HtmlTextReader / PlainTextReader, counted by wrapping them.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter

import pytest

from conftest import REPO, SAMPLE_DOCS
from longembed.ingest import ingest, reader
from longembed.ingest.html import HtmlTextReader
from longembed.ingest.text import PlainTextReader
from longembed.settings import IndexSettings
from longembed.store import Store
from files import write_pdf

SETTINGS = IndexSettings(extend="none", max_length=128)
pytestmark = pytest.mark.slow  # seven ingests of 22 files: ~85 s on 2 cores


@pytest.fixture
def calls(monkeypatch) -> Counter:
    counter: Counter = Counter()
    for name, cls in (("html", HtmlTextReader), ("text", PlainTextReader)):
        original = cls.load_data

        def counted(self, *args, _original=original, _name=name, **kwargs):
            counter[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "load_data", counted)
    original_pdf = reader.read_pdf

    def counted_pdf(*args, **kwargs):
        counter["pdf"] += 1
        return original_pdf(*args, **kwargs)

    monkeypatch.setattr(reader, "read_pdf", counted_pdf)  # PDFs are read in a worker process (longembed.ingest.pdf)
    return counter


def test_reingest_of_an_unchanged_folder_opens_no_parser(tmp_path, calls):
    docs = tmp_path / "docs"
    shutil.copytree(SAMPLE_DOCS, docs)
    shutil.copy(REPO / "tests" / "data" / "sphinx_argparse.html", docs / "argparse.html")
    write_pdf(docs / "report.pdf", ["The budget is twelve euros", "Second page"])
    with Store(path=tmp_path / "store") as store:
        first = ingest(docs, SETTINGS, store, "c", progress=False)
        assert (len(first.new), calls["pdf"], calls["html"], calls["text"]) == (22, 1, 1, 20)
        calls.clear()
        again = ingest(docs, SETTINGS, store, "c", progress=False)
        assert len(again.unchanged) == 22 and not again.new and not again.updated
        assert sum(calls.values()) == 0  # no PDF, HTML or text parser was opened

        # touched (mtime changed, same text): parsed again, the sha256 says unchanged, nothing re-embedded
        os.utime(docs / "report.pdf", ns=(1, 1))
        touched = ingest(docs, SETTINGS, store, "c", progress=False)
        assert (calls["pdf"], len(touched.unchanged), touched.updated) == (1, 22, [])
        calls.clear()  # the new mtime was recorded: the next run parses nothing again
        assert len(ingest(docs, SETTINGS, store, "c", progress=False).unchanged) == 22 and not calls
        # same size and mtime but new text: skipped by default, found by --rehash
        stat = os.stat(docs / "ES2002a.txt")
        text = (docs / "ES2002a.txt").read_text()
        (docs / "ES2002a.txt").write_text(text.replace("a", "e", 1) if "a" in text else text)
        os.utime(docs / "ES2002a.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns))
        calls.clear()
        assert ingest(docs, SETTINGS, store, "c", progress=False).updated == []
        rehashed = ingest(docs, SETTINGS, store, "c", progress=False, rehash=True)
        assert rehashed.updated == ["ES2002a.txt"] and len(rehashed.unchanged) == 21
        assert (calls["pdf"], calls["html"], calls["text"]) == (1, 1, 20)
        forced = ingest(docs, SETTINGS, store, "c", progress=False, force=True)
        assert len(forced.updated) == 22
