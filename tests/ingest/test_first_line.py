"""The one-line reason of a failure: :func:`longembed.errors.first_line`, and the PDF worker's restatement of it
(the worker runs isolated and imports nothing of longembed)."""

from __future__ import annotations

from longembed.errors import first_line
from longembed.ingest import pdf_worker


def test_the_pdf_worker_states_a_failure_as_longembed_does():
    for exc in (ValueError("bad xref\nat offset 12"), ValueError("  "), OSError(), KeyError("Root")):
        assert pdf_worker._first_line(exc) == first_line(exc)
    assert first_line(ValueError("bad xref\nat offset 12")) == "bad xref"
    assert first_line(ValueError("")) == "ValueError"
