"""``longembed query`` on a store held by ``longembed serve``: the address file the server writes next to the
store, the query sent to the server instead of failing, stale address files ignored, and a clean Ctrl-C stop
(exit 130, no ``Aborted!``, the file removed). Real processes on 127.0.0.1 and a free port; every wait is
bounded and the server is killed whatever happens."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest
from clitools import CLI, assert_one_line_error, cli_env

from longembed.ingest import ingest
from longembed.serve.address import ADDRESS_FILE, ServerAddress, read_address, write_address
from longembed.settings import IndexSettings
from longembed.store import LOCAL_STORE_FILES, Store

TOKEN = "test-token-3f9a"
START_TIMEOUT_S = 180
DOCS = {
    "cats.txt": "Cats purr, chase mice around the barn at night and sleep in the sun.",
    "rockets.txt": "The rocket engine burns liquid oxygen and kerosene at launch.",
}


def env(token: str | None = None) -> dict[str, str]:
    out = {k: v for k, v in cli_env().items() if k != "LONGEMBED_TOKEN"}
    return {**out, "LONGEMBED_TOKEN": token} if token else out


def query(*args: str, cwd, token: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "query", *args], cwd=cwd, env=env(token), capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.fixture()
def work(tmp_path):
    (tmp_path / "docs").mkdir()
    for name, text in DOCS.items():
        (tmp_path / "docs" / name).write_text(text)
    with Store(path=tmp_path / "store") as store:
        ingest(tmp_path / "docs", IndexSettings(extend="none", max_length=128), store, "default", progress=False)
    return tmp_path


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_store_accepts_the_address_file():
    assert ADDRESS_FILE in LOCAL_STORE_FILES


def test_untrusted_or_dead_address_files_are_ignored(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    alive = ServerAddress("127.0.0.1", 8000, os.getpid(), str(store), False)
    path = write_address(store, alive)
    assert path is not None and read_address(store) == alive
    assert not stat.S_IMODE(path.stat().st_mode) & (stat.S_IWGRP | stat.S_IWOTH)
    path.chmod(0o666)  # another user could point it (and a client's token) at their own port
    assert read_address(store) is None
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    write_address(store, ServerAddress("127.0.0.1", 8000, int(finished.stdout), str(store), False))
    assert read_address(store) is None  # the server is gone
    path.write_text("{not json")
    assert read_address(store) is None
    path.unlink()
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({**alive.__dict__}))
    path.symlink_to(elsewhere)  # a link could point anywhere: only a regular file counts
    assert read_address(store) is None


def test_wildcard_hosts_are_reached_through_loopback():
    assert ServerAddress("0.0.0.0", 8000, 1, "s", False).url == "http://127.0.0.1:8000"
    assert ServerAddress("::", 8000, 1, "s", False).url == "http://[::1]:8000"
    assert ServerAddress("192.0.2.7", 8000, 1, "s", False).url == "http://192.0.2.7:8000"


@pytest.mark.slow  # a CLI process loading torch and the model
def test_a_stale_address_with_a_refused_port_is_ignored(work):
    write_address(work / "store", ServerAddress("127.0.0.1", closed_port(), os.getpid(), "store", False))
    done = query("cats chasing mice", "--store", "store", "-k", "1", cwd=work)
    assert done.returncode == 0, done.stderr
    assert "held by" not in done.stderr and done.stdout.split()[2] == "cats.txt"


def _ctrl_c_as_in_a_terminal() -> None:
    """SIGINT back to its default in the child: a job started in the background by a non-interactive shell (as CI
    may run this suite) inherits SIGINT ignored, and uvicorn then shuts down on it without re-raising it (exit 0)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow  # a real server process and two CLI processes
def test_query_goes_to_the_server_holding_the_store(work):
    log_path = work / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [*CLI, "serve", "--store", "store", "--host", "127.0.0.1", "--port", "0", "--device", "cpu"],
            stdout=subprocess.PIPE, stderr=log, text=True, env=env(TOKEN), cwd=work,
            preexec_fn=_ctrl_c_as_in_a_terminal,
        )
    lines: list[str] = []
    threading.Thread(target=lambda: lines.extend(server.stdout), daemon=True).start()  # type: ignore[arg-type]
    address_file = work / "store" / ADDRESS_FILE
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and server.poll() is None and not any("serving" in s for s in lines):
            time.sleep(0.2)
        started = [m for s in list(lines) if (m := re.search(r"at http://127\.0\.0\.1:(\d+) ", s))]
        assert started, f"server did not start: {server.poll()=} {lines=} {log_path.read_text()}"
        recorded = json.loads(address_file.read_text())
        assert recorded == {"host": "127.0.0.1", "port": int(started[0].group(1)), "pid": server.pid,
                            "location": "store", "token_required": True, "version": recorded["version"],
                            "directory": str((work / "store").resolve())}  # what a client checks it opened
        assert TOKEN not in address_file.read_text()  # the client brings its own token

        no_token = query("cats", "--store", "store", cwd=work)
        assert_one_line_error(no_token, f"held by `longembed serve` (pid {server.pid})", "needs a token: set LONGEMBED_TOKEN")

        (work / "q.jsonl").write_text('{"query": "cats chasing mice", "k": 1}\n{"query": "rocket fuel", "id": "r"}\n')
        done = query("--file", "q.jsonl", "--store", "store", "--json", cwd=work, token=TOKEN)
        assert done.returncode == 0, done.stderr
        assert f"the store store is held by `longembed serve` (pid {server.pid}); asking it at" in done.stderr
        answers = [json.loads(line) for line in done.stdout.splitlines()]
        assert [(a["id"], a["results"][0]["path"], len(a["results"])) for a in answers] == [
            (1, "cats.txt", 1), ("r", "rockets.txt", 2)]
        assert answers[0]["mode"] == "hybrid" and answers[0]["results"][0]["score"] > 0

        server.send_signal(signal.SIGINT)  # Ctrl-C
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
    stderr = log_path.read_text()
    assert server.returncode == 130, stderr
    assert "Application shutdown complete" in stderr and "Aborted!" not in stderr and "Traceback" not in stderr
    assert not address_file.exists()
