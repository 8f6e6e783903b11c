"""A real `longembed serve` process (uvicorn) on 127.0.0.1 and a free port, queried over HTTP.

Loopback only and bounded: the server is started with --port 0 (the system picks a free port, the start line
names it), every wait has a timeout, and the process is stopped (SIGTERM, then killed) whatever happens.
The store holds eight sample meetings embedded with pi at 1024 tokens by the bundled all-MiniLM-L6-v2.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import REPO
from longembed.ingest import ingest
from longembed.models.device import cpu_quantization
from longembed.settings import IndexSettings
from longembed.store import Store
from meetings_subset import KNOWN_FIRST, MAX_LENGTH, copy_subset, query_text

pytestmark = pytest.mark.slow  # starts a real server process and embeds eight meetings

START_TIMEOUT_S = 180
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}


def post(url: str, body: dict, timeout: float = 60) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def store_path(tmp_path_factory):
    work = tmp_path_factory.mktemp("serve")
    with Store(path=work / "store") as store:
        ingest(copy_subset(work / "docs"), IndexSettings(max_length=MAX_LENGTH), store, "default", progress=False)
    return work / "store"


@pytest.fixture(scope="module")
def server(store_path, tmp_path_factory):
    """The base URL of a `longembed serve` process holding ``store_path``; afterwards the store is free again
    and holds every document (nothing lost by the stop)."""
    log_path = store_path.parent / "serve.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "longembed.cli", "serve", "--store", str(store_path), "--host", "127.0.0.1",
         "--port", "0", "--device", "cpu", "--extend", "pcw", "--max-length", "256",  # for new collections
         "--allow-path", str(tmp_path_factory.getbasetemp())],  # POST /ingest {"path"} of the tests' folders
        stdout=subprocess.PIPE, stderr=log, text=True, env=ENV, cwd=store_path.parent,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)  # type: ignore[arg-type]
    reader.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        url = None
        while time.monotonic() < deadline and process.poll() is None and url is None:
            found = [m for line in list(lines) if (m := re.search(r"at (http://127\.0\.0\.1:\d+) ", line))]
            url = found[0].group(1) if found else None
            time.sleep(0.2)
        assert url, f"server did not start: {process.poll()=} {lines=} {log_path.read_text()}"
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/health", timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()
    # a graceful stop (uvicorn re-raises SIGTERM after shutting down, so the exit status says SIGTERM)
    assert process.returncode in (0, -signal.SIGTERM), log_path.read_text()
    assert "Application shutdown complete" in log_path.read_text()
    assert not (store_path / ".longembed-server.json").exists()  # the address file goes with the server
    with Store(path=store_path) as store:
        assert store.count("default") == 9  # eight meetings + the note ingested through POST /ingest


def test_search_over_http(server):
    with urllib.request.urlopen(server + "/health", timeout=10) as response:
        health = json.loads(response.read())
    assert health["status"] == "ok" and health["models_loaded"] == [  # ingested on a CPU with --dtype auto
        f"model=sentence-transformers/all-MiniLM-L6-v2 extend=pi max_length=1024 quantization={cpu_quantization()}"
    ]
    status, body = post(server + "/search", {"query": query_text("ES2010a_s1"), "k": 3})
    assert status == 200 and body["results"][0]["path"] == "ES2010a.txt"
    status, body = post(server + "/search", {"query": "x", "collection": "nope"})
    assert status == 404 and "collection 'nope' does not exist" in body["detail"]


def test_concurrent_requests_get_the_sequential_answers(server):
    queries = [query_text(qid) for qid in KNOWN_FIRST]
    sequential = [post(server + "/search", {"query": q, "k": 3})[1]["results"] for q in queries]
    assert [r[0]["path"] for r in sequential] == list(KNOWN_FIRST.values())
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda i: post(server + "/search", {"query": queries[i % 4], "k": 3}), range(24)))
    for i, (status, body) in enumerate(answers):
        assert status == 200
        expected = sequential[i % 4]
        assert [r["path"] for r in body["results"]] == [r["path"] for r in expected]
        assert [r["score"] for r in body["results"]] == pytest.approx([r["score"] for r in expected], abs=1e-6)


def test_a_copy_of_the_held_store_answers_from_itself(server, store_path, tmp_path):
    """Issue 24 row 2: the copy carries the address file, which names the original's server; queries on the copy
    must not be sent there."""
    import shutil

    copy = tmp_path / "B"
    shutil.copytree(store_path, copy)
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "zebra.txt").write_text("A zebra escaped from the zoo and ran through the market.")
    cli = [sys.executable, "-m", "longembed.cli"]
    done = subprocess.run([*cli, "ingest", str(tmp_path / "new"), "--store", str(copy), "--max-length",
                           str(MAX_LENGTH), "--no-progress"], capture_output=True, text=True, env=ENV, timeout=300)
    assert done.returncode == 0 and done.stdout.startswith("ingested 1 document"), done.stderr
    found = subprocess.run([*cli, "query", "zebra escaped from the zoo", "--store", str(copy), "--json", "-k", "1"],
                           capture_output=True, text=True, env=ENV, timeout=300)
    assert found.returncode == 0 and "held by" not in found.stderr, found.stderr
    assert [r["path"] for r in json.loads(found.stdout)] == ["zebra.txt"]


def test_an_upload_never_replaces_a_document_ingested_from_a_file(server, store_path):
    """Issue 24 row 4: the name is held by a file that still exists: 409 naming it, nothing written."""
    upload = {"documents": [{"name": "ES2002a.txt", "text": "An upload about owls."}]}
    status, body = post(server + "/ingest", upload)
    assert status == 409, body
    assert f"ES2002a.txt (from {store_path.parent / 'docs' / 'ES2002a.txt'})" in body["detail"]
    status, body = post(server + "/search", {"query": "An upload about owls", "k": 8})
    assert status == 200 and all("owls" not in r["snippet"] for r in body["results"])


def test_cli_ingest_on_the_held_store_fails_clearly(server, store_path, tmp_path):
    (tmp_path / "a.txt").write_text("A new note about the remote control.")
    done = subprocess.run(
        [sys.executable, "-m", "longembed.cli", "ingest", str(tmp_path), "--store", str(store_path),
         "--max-length", str(MAX_LENGTH), "--no-progress"],
        capture_output=True, text=True, env=ENV, timeout=300,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    reading, message = done.stderr.strip().splitlines()  # "reading 1 file(s) under ...", then the error
    assert reading.startswith("reading 1 file(s) under")
    assert message.startswith(f"error: the store {store_path} is in use by another longembed process")
    assert "`longembed serve`" in message and "POST /ingest" in message and "--qdrant-url" in message
    # the running server takes the document instead
    status, body = post(server + "/ingest", {"path": str(tmp_path)})
    assert status == 200 and body["documents"] == 1
    status, body = post(server + "/search", {"query": "a note about the remote control", "k": 1})
    assert body["results"][0]["path"] == "a.txt"


def test_load_script(server):
    done = subprocess.run(
        [sys.executable, str(REPO / "perf" / "load.py"), "--url", server, "--clients", "4", "--seconds", "2",
         "--json"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["errors"] == 0 and summary["ok"] > 0 and summary["clients"] == 4
    assert summary["requests"] == summary["ok"]
    lat = summary["latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    refused = subprocess.run(
        [sys.executable, str(REPO / "perf" / "load.py"), "--url", "http://192.0.2.1:8000"],
        capture_output=True, text=True, timeout=60,
    )
    assert refused.returncode == 2 and "is not a loopback address" in refused.stderr


def test_post_ingest_creates_new_collections_with_the_serve_settings(server, tmp_path):
    """serve --extend pcw --max-length 256: a collection made by POST /ingest records them; the existing default
    collection keeps pi at 1024 (its ingest above went through with its own settings)."""
    (tmp_path / "budget.txt").write_text("The remote control may cost at most twelve euros fifty to produce.")
    (tmp_path / "garden.txt").write_text("Tomatoes need sun, water and a wooden stake to climb.")
    status, body = post(server + "/ingest", {"path": str(tmp_path), "collection": "fresh"})
    assert status == 200 and body["documents"] == 2, body
    with urllib.request.urlopen(server + "/collections", timeout=10) as response:
        listed = {c["name"]: c for c in json.loads(response.read())["collections"]}
    assert (listed["fresh"]["extend"], listed["fresh"]["max_length"], listed["fresh"]["documents"]) == ("pcw", 256, 2)
    assert (listed["default"]["extend"], listed["default"]["max_length"]) == ("pi", MAX_LENGTH)
    status, body = post(server + "/search", {"query": "price of the remote control", "collection": "fresh", "k": 1})
    assert status == 200 and body["results"][0]["path"] == "budget.txt"
