"""Fair sharing through a real `longembed serve` process (issue 14 rows 7-9): searches keep answering while
the largest /v1/embeddings request is tokenized and embedded, and a slow PDF in an upload is skipped at the
server's --pdf-seconds while the other file is stored and searches answer.

Ordering, not timing: each search is sent after the long request was sent in full, and must come back while
the long request is still running (its thread has not returned). Before the fair gate, a request held the
inference lock from tokenizing to its last forward pass, so every search waited for the end of it.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from clitools import FAST, run_cli
from pdf_bombs import shared_stream_pdf
from test_server_security import FORM, Server, multipart

pytestmark = pytest.mark.slow  # a server process, a 6 MB embeddings request and a slow PDF: ~60-90 s on 2 cores

NOTES = {
    "a.txt": "The harbour committee approved a new pier for the fishing fleet.",
    "b.txt": "Tomatoes need sun, water and a wooden stake to climb.",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    work = tmp_path_factory.mktemp("fair")
    (work / "docs").mkdir()
    for name, text in NOTES.items():
        (work / "docs" / name).write_text(text)
    done = run_cli("ingest", "docs", "--store", str(work / "store"), *FAST, cwd=work)
    assert done.returncode == 0, done.stderr
    running = Server(work / "store", "--pdf-seconds", "3")
    yield running
    running.stop()


def searches_during(server: Server, long_request) -> tuple[list[tuple[int, dict]], list, int]:
    """Run ``long_request()`` in a thread; send searches one after another until it returns. Returns the
    searches that came back while it was still running, its answer, and the searches sent in all."""
    answer: list = []
    finished = threading.Event()
    sent = threading.Event()

    def run():
        try:
            answer.append(long_request(sent))
        finally:
            finished.set()

    worker = threading.Thread(target=run)
    worker.start()
    assert sent.wait(120), "the long request was not sent"
    during, total = [], 0
    while not finished.is_set() and total < 500:
        status, body = server.request("POST", "/search", {"query": "a new pier for the fishing fleet", "k": 1})
        total += 1
        if not finished.is_set():
            during.append((status, body))
    worker.join(600)
    return during, answer, total


def test_searches_answer_while_the_largest_embeddings_request_runs(server):
    texts = [f"{i} " + "lorem ipsum dolor sit amet " * 7400 for i in range(32)]  # 32 x ~200,000 characters
    assert all(len(t) <= 200_000 for t in texts)

    def embeddings(sent: threading.Event):
        body = json.dumps({"input": texts}).encode()
        sent.set()  # set just before the body goes out; the first search follows it
        return server.request("POST", "/v1/embeddings", body)

    during, answer, total = searches_during(server, embeddings)
    status, body = answer[0]
    assert status == 200 and len(body["data"]) == 32 and body["usage"]["prompt_tokens"] == 32 * 128
    assert len(during) >= 3, f"only {len(during)} of {total} searches answered while the embeddings ran"
    for status, result in during:
        assert status == 200 and result["results"][0]["path"] == "a.txt"


def test_a_slow_pdf_upload_is_skipped_at_the_budget_and_the_rest_is_stored(server, tmp_path: Path):
    shared_stream_pdf(tmp_path / "slow.pdf")
    parts = [("files", "slow.pdf", (tmp_path / "slow.pdf").read_bytes()),
             ("files", "c.txt", b"The lighthouse keeper repainted the lamp room in red.")]

    def upload(sent: threading.Event):
        sent.set()
        return server.request("POST", "/ingest/files", multipart(parts), FORM)

    during, answer, total = searches_during(server, upload)
    status, body = answer[0]
    assert status == 200, body
    assert (body["documents"], body["new"]) == (1, 1)
    assert body["failed"] == [{
        "path": "slow.pdf",
        "reason": "skipped: too slow (extracting the PDF's text took longer than the limit of 3 s, --pdf-seconds)",
    }]
    assert during and all(s == 200 for s, _ in during), (len(during), total)
    status, found = server.request("POST", "/search", {"query": "lighthouse lamp room", "k": 1})
    assert status == 200 and found["results"][0]["path"] == "c.txt"
