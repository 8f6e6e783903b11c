"""Bounded work per file (issue 14 row 7 and "a size budget for any file"): a PDF whose pages share one large
content stream is skipped at the time budget, one with too many pages before any page is read, any file over
the size budget unread; each is one "skipped: ..." failure and the other files are ingested."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from clitools import FAST, run_cli
from llama_index.readers.file import PDFReader
from pdf_bombs import shared_stream_pdf
from test_reader import write_pdf

from longembed.errors import LongEmbedError
from longembed.ingest.reader import ReadFailure, read_file
from longembed.ingest.limits import DEFAULT_MAX_FILE_MB, DEFAULT_PDF_PAGES, DEFAULT_PDF_SECONDS, ReadLimits

BUDGET_S = 3.0


def test_slow_pdf_is_skipped_at_the_budget_and_the_next_pdf_reads(tmp_path):
    shared_stream_pdf(tmp_path / "slow.pdf")  # 20 pages x ~6 s without a budget
    write_pdf(tmp_path / "ok.pdf", ["First page text", "Second page text"])
    assert (tmp_path / "slow.pdf").stat().st_size < 10_000
    started = time.monotonic()
    skipped = read_file(tmp_path, tmp_path / "slow.pdf", ReadLimits(pdf_seconds=BUDGET_S))
    elapsed = time.monotonic() - started
    assert skipped == ReadFailure(
        "slow.pdf", "skipped: too slow (extracting the PDF's text took longer than the limit of 3 s, --pdf-seconds)"
    )
    assert elapsed < BUDGET_S + 20  # the budget plus a worker start on a loaded machine; unbounded it is ~120 s
    ok = read_file(tmp_path, tmp_path / "ok.pdf")  # a fresh worker replaces the killed one
    assert ok.text == "First page text\nSecond page text" and ok.title == "ok"


def test_pdf_text_is_what_llama_index_extracted_so_stored_hashes_hold(tmp_path):
    write_pdf(tmp_path / "report.pdf", ["The budget is twelve euros", "Second page", "Third page"])
    (before,) = PDFReader(return_full_document=True).load_data(tmp_path / "report.pdf")
    assert read_file(tmp_path, tmp_path / "report.pdf").text == before.text


def test_pdf_with_too_many_pages_is_skipped_unread(tmp_path):
    write_pdf(tmp_path / "long.pdf", [f"page {i}" for i in range(5)])
    assert read_file(tmp_path, tmp_path / "long.pdf", ReadLimits(pdf_pages=4)) == ReadFailure(
        "long.pdf", "skipped: too large (5 pages; the limit is 4 pages, --pdf-pages)"
    )
    assert read_file(tmp_path, tmp_path / "long.pdf", ReadLimits(pdf_pages=5)).text.startswith("page 0")


def test_file_over_the_size_budget_is_skipped_unread(tmp_path):
    (tmp_path / "big.txt").write_text("word " * 300_000)  # 1.5 MB
    assert read_file(tmp_path, tmp_path / "big.txt", ReadLimits(max_file_mb=1)) == ReadFailure(
        "big.txt", "skipped: too large (1.4 MB; the limit is 1 MB, --max-file-mb)"
    )
    assert read_file(tmp_path, tmp_path / "big.txt", ReadLimits(max_file_mb=2)).text.startswith("word word")


def test_defaults_and_bad_budgets():
    assert ReadLimits() == ReadLimits(DEFAULT_MAX_FILE_MB, DEFAULT_PDF_SECONDS, DEFAULT_PDF_PAGES) == ReadLimits(64, 20, 2000)
    for bad in ({"max_file_mb": 0}, {"pdf_seconds": float("nan")}, {"pdf_pages": 0}, {"pdf_pages": 1.5}):
        with pytest.raises(LongEmbedError, match="must be a positive"):
            ReadLimits(**bad)


@pytest.mark.slow  # two CLI ingests (model load each): ~40 s on 2 cores
def test_cli_ingest_lists_the_skipped_files_and_ingests_the_rest(tmp_path: Path):
    docs = tmp_path / "docs"
    docs.mkdir()
    shared_stream_pdf(docs / "slow.pdf")
    (docs / "big.txt").write_text("word " * 300_000)
    (docs / "note.txt").write_text("The harbour committee approved a new pier.")
    write_pdf(docs / "ok.pdf", ["The budget is twelve euros"])
    done = run_cli("ingest", "docs", "--store", "s", *FAST, "--pdf-seconds", "3", "--max-file-mb", "1", cwd=tmp_path,
                   timeout=300)
    assert done.returncode == 0, done.stderr
    failed = sorted(line for line in done.stderr.splitlines() if line.startswith("failed:"))
    assert failed == [
        "failed: big.txt: skipped: too large (1.4 MB; the limit is 1 MB, --max-file-mb)",
        "failed: slow.pdf: skipped: too slow (extracting the PDF's text took longer than the limit of 3 s, "
        "--pdf-seconds)",
    ]
    assert "ingested 2 documents" in done.stdout and "2 new" in done.stdout and "2 failed" in done.stdout
    again = run_cli("ingest", "docs", "--store", "s", *FAST, "--pdf-seconds", "3", cwd=tmp_path, timeout=300)
    assert again.returncode == 0 and "1 new" in again.stdout  # big.txt under the default 64 MB budget
    bad = run_cli("ingest", "docs", "--store", "s", *FAST, "--pdf-pages", "0", cwd=tmp_path)
    assert bad.returncode == 2 and "--pdf-pages" in bad.stderr
