"""A real `longembed serve` process (uvicorn) attacked as a web page and a careless client would (issue 14
rows 3, 4, 10-14 and the upload clean-up): foreign Host, foreign Origin, missing token, ingest by path,
inputs whose error bodies did not serialise, names the file system refuses, partial multipart bodies.

Loopback only, port 0, every wait bounded, the process stopped whatever happens. The store holds two short
notes embedded by the bundled all-MiniLM-L6-v2 (``--extend none --max-length 128``).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from clitools import FAST, assert_one_line_error, run_cli
from conftest import REPO

from longembed.store import Store

pytestmark = pytest.mark.slow  # real server processes: ~28 s to start the first (CLI ingest + model load), ~45 s in all

START_TIMEOUT_S = 180
TOKEN = "s3cret-token-for-tests"
NOTES = {
    "a.txt": "The harbour committee approved a new pier for the fishing fleet.",
    "b.txt": "Tomatoes need sun, water and a wooden stake to climb.",
}


class Server:
    """A `longembed serve` process on 127.0.0.1 and a free port."""

    def __init__(self, store: Path, *extra: str, env: dict | None = None) -> None:
        self.log_path = store.parent / f"serve-{time.monotonic_ns()}.log"
        self.log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "longembed.cli", "serve", "--store", str(store), "--host", "127.0.0.1", "--port",
             "0", "--device", "cpu", *FAST[:4], *extra],
            stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=store.parent,
            env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), **(env or {})},
        )
        lines: list[str] = []
        threading.Thread(target=lambda: lines.extend(self.process.stdout), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        self.port = None
        while time.monotonic() < deadline and self.process.poll() is None and self.port is None:
            found = [m for line in list(lines) if (m := re.search(r"at http://127\.0\.0\.1:(\d+) ", line))]
            self.port = int(found[0].group(1)) if found else None
            time.sleep(0.2)
        if self.port is None:
            self.stop()
            raise AssertionError(f"server did not start: {lines} {self.log_path.read_text()}")

    def request(self, method: str, path: str, body: bytes | str | dict | None = None,
                headers: dict | None = None) -> tuple[int, dict]:
        """Send one request with exactly these headers (Host defaults to 127.0.0.1:port); status and JSON body."""
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8", "surrogatepass")
        headers = {"Host": f"127.0.0.1:{self.port}", "Content-Type": "application/json", **(headers or {})}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body or b"")))
            connection.endheaders(body or b"")
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            connection.close()

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


def multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "XyZbOuNdArY", close: bool = True) -> bytes:
    """A multipart/form-data body of ``(field, filename or None, content)`` parts (closed unless ``close=False``)."""
    out = b""
    for field, filename, content in parts:
        disposition = f'form-data; name="{field}"' + (f'; filename="{filename}"' if filename is not None else "")
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode("utf-8", "surrogatepass")
        out += content + b"\r\n"
    return out + (f"--{boundary}--\r\n".encode() if close else b"")


FORM = {"Content-Type": "multipart/form-data; boundary=XyZbOuNdArY"}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("security")
    docs = work / "docs"
    docs.mkdir()
    for name, text in NOTES.items():
        (docs / name).write_text(text)
    done = run_cli("ingest", "docs", "--store", str(work / "store"), *FAST, cwd=work)
    assert done.returncode == 0, done.stderr
    return work / "store"


@pytest.fixture(scope="module")
def server(store):
    running = Server(store)
    yield running
    running.stop()


def texts(store: Path) -> dict[str, str]:
    """path -> text of every point of the default collection (read while the server is up: a copy)."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as copy:
        shutil.copytree(store, Path(copy) / "s", ignore=shutil.ignore_patterns(".lock"))
        with Store(path=Path(copy) / "s", create=False) as db:
            return {p.payload["path"]: p.payload["text"] for p in db.scroll("default", payload=["path", "text"])}


def test_foreign_host_is_refused_for_reads_and_writes(server):
    """Row 4: a DNS-rebinding page reaches 127.0.0.1 with its own Host name."""
    for path, body in (("/search", {"query": "pier", "k": 1}), ("/ingest", {"path": "/etc"})):
        status, answer = server.request("POST", path, body, {"Host": "rebind.attacker.example"})
        assert status == 403 and "--allow-host" in answer["detail"], answer
    status, answer = server.request("POST", "/search", {"query": "pier", "k": 1}, {"Host": f"localhost:{server.port}"})
    assert status == 200 and answer["results"][0]["path"] == "a.txt"


def test_cross_site_form_post_is_refused_and_stores_nothing(server, store):
    """Row 3: a multipart form POST from a web page needs no preflight; its Origin gives it away."""
    body = multipart([("files", "a.txt", b"Fake text planted by a web page.")])
    status, answer = server.request("POST", "/ingest/files", body, {**FORM, "Origin": "http://evil.example"})
    assert status == 403 and "--allow-origin" in answer["detail"], answer
    status, _ = server.request("POST", "/search", {"query": "x"}, {"Origin": "null"})
    assert status == 403
    assert texts(store)["a.txt"] == NOTES["a.txt"]


def test_ingest_by_path_is_off_and_says_nothing_about_the_path(server):
    """Row 4 (and 'error wording tells whether a path exists'): off unless --allow-path."""
    answers = [server.request("POST", "/ingest", {"path": p}) for p in ("/etc", "/no/such/folder", "/etc/passwd")]
    assert [s for s, _ in answers] == [403, 403, 403]
    assert len({a["detail"] for _, a in answers}) == 1 and "--allow-path" in answers[0][1]["detail"]


@pytest.mark.parametrize(
    "path, raw",
    [
        ("/search", '{"query": "x", "k": NaN}'),
        ("/search", '{"query": "x", "k": 1e309}'),
        ("/search", '{"query": NaN}'),
        ("/search", '{"query": "\\ud800abc"}'),
        ("/v1/embeddings", '{"input": "x", "dimensions": NaN}'),
        ("/v1/embeddings", '{"input": "\\udfffx"}'),
        ("/ingest", '{"documents": [{"name": "a.txt", "text": "\\ud800"}]}'),
    ],
)
def test_unserialisable_inputs_are_422_not_500(server, path, raw):
    """Row 11: the 422 body no longer echoes NaN, inf or lone surrogates."""
    status, answer = server.request("POST", path, raw)
    assert status == 422, answer
    if path.startswith("/v1/"):  # OpenAI's error shape (issue 15)
        assert answer["error"]["type"] == "invalid_request_error" and answer["error"]["message"], answer
    else:
        assert isinstance(answer["detail"], list) and answer["detail"][0]["msg"]


@pytest.mark.parametrize(
    "name, why",
    [
        ("x" * 300 + ".txt", "bytes"),  # row 12
        ("é" * 200 + ".txt", "bytes"),  # 204 characters, 404 bytes
        ("a\x00b.txt", "control character"),  # row 13
        ("a\nerror: forged.txt", "control character"),
    ],
)
def test_names_the_file_system_refuses_are_400(server, name, why):
    status, answer = server.request("POST", "/ingest", {"documents": [{"name": name, "text": "some text"}]})
    shown = json.dumps(answer)
    assert status in (400, 422) and (why in shown or "at most 255 characters" in shown), answer
    body = multipart([("files", name, b"some text")])
    status, answer = server.request("POST", "/ingest/files", body, FORM)
    assert status == 400 and why in answer["detail"], answer


def test_file_and_folder_of_the_same_name_is_400(server):
    """Row 14."""
    docs = [{"name": "x.txt", "text": "one"}, {"name": "x.txt/y.txt", "text": "two"}]
    status, answer = server.request("POST", "/ingest", {"documents": docs})
    assert status == 400 and "is a file, and 'x.txt/y.txt' needs it to be a folder" in answer["detail"]
    body = multipart([("files", "x.txt/y.txt", b"two"), ("files", "x.txt", b"one")])
    status, answer = server.request("POST", "/ingest/files", body, FORM)
    assert status == 400 and "needs it to be a folder" in answer["detail"]


def test_partial_multipart_is_400_and_stores_nothing(server, store):
    """Row 10: a complete files part, then the collection field cut before the closing boundary."""
    body = multipart([("files", "c.txt", b"Planted into the wrong collection.")], close=False)
    body += b'--XyZbOuNdArY\r\nContent-Disposition: form-data; name="collection"\r\n\r\nprivate'
    status, answer = server.request("POST", "/ingest/files", body, FORM)
    assert status == 400 and "closing boundary" in answer["detail"], answer
    assert "c.txt" not in texts(store)
    status, answer = server.request("GET", "/collections")
    assert [c["name"] for c in answer["collections"]] == ["default"]


def test_token_and_allowed_path_and_upload_cleanup(store, tmp_path):
    """A server with a token (from LONGEMBED_TOKEN) and --allow-path; a dead server's uploads are removed."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    uid = os.getuid()
    left = tmp_path / f"longembed-uploads-{uid}" / str(gone.pid) / "upload-x"
    left.mkdir(parents=True)
    (left / "secret.txt").write_text("an upload left behind by a killed server")
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (allowed / "c.txt").write_text("Cats purr and chase mice around the barn at night.")
    import shutil

    own = tmp_path / "store"  # the module's server holds the original
    shutil.copytree(store, own, ignore=shutil.ignore_patterns(".lock"))
    server = Server(own, "--allow-path", str(allowed), env={"LONGEMBED_TOKEN": TOKEN, "TMPDIR": str(tmp_path)})
    try:
        assert not left.parent.exists()  # removed at start
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            status, answer = server.request("POST", "/search", {"query": "pier"}, headers)
            assert status == 401 and "Authorization: Bearer" in answer["detail"], (headers, answer)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        status, answer = server.request("POST", "/search", {"query": "pier", "k": 1}, auth)
        assert status == 200 and answer["results"][0]["path"] == "a.txt"
        status, answer = server.request("POST", "/ingest", {"path": str(allowed.parent)}, auth)
        assert status == 403  # the parent of the allowed folder is not allowed
        status, answer = server.request("POST", "/ingest", {"path": str(allowed), "collection": "cats"}, auth)
        assert status == 200 and answer["new"] == 1, answer
        status, answer = server.request("POST", "/ingest", {"documents": [{"name": "d.txt", "text": "Dogs bark."}]}, auth)
        assert status == 200 and answer["new"] == 1, answer
        assert (tmp_path / f"longembed-uploads-{uid}" / str(server.process.pid)).is_dir()
    finally:
        server.stop()
    # issue 24 row 7: a clean shutdown (SIGTERM) removes its own, now empty, upload folder
    assert server.process.returncode is not None
    assert not (tmp_path / f"longembed-uploads-{uid}" / str(server.process.pid)).exists()


def test_non_loopback_bind_needs_a_token(store):
    done = run_cli("serve", "--store", str(store), "--host", "0.0.0.0", "--port", "0", cwd=store.parent)
    assert_one_line_error(done, "--host 0.0.0.0 is reachable from other machines", "--token", "LONGEMBED_TOKEN")
