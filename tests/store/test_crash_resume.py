"""Crash safety: ``longembed ingest`` killed with SIGKILL at many moments, then run again, ends with exactly one
point per readable document carrying the sha256 of its current text: no duplicate, nothing missing.

Real subprocesses of the CLI, real SIGKILL, the real all-MiniLM-L6-v2 model and the real embedded Qdrant store.
The test decides *when* to kill by watching the store from outside: it counts the documents whose path appears in
the collection's Qdrant Edge files (write-ahead log and payload pages, read-only) while the ingest runs. Nothing in
the product is mocked or patched.
"""

from __future__ import annotations

import hashlib
import mmap
import random
import re
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from clitools import CLI, FAST, cli_env, run_cli
from longembed.encoding import Encoder
from longembed.store import DOC_VECTOR, open_store, point_id
from longembed.settings import RunOptions


pytestmark = pytest.mark.slow  # kills real ingests of 160 files at 7 moments: minutes

N_FILES = 160
OPTIONS = [*FAST, "--dtype", "float32"]
"""float32 weights: with int8 (the CPU default) the documents left after a kill are embedded faster than the
test polls the store, so a signal meant for the middle of the writes lands after the last one."""
WORDS = (
    "harbour budget committee remote control design meeting pier fleet weather battery button rubber "
    "market price screen voice speech kinetic energy plastic wood titanium colour fashion trendy user "
    "survey marketing industrial interface manager component chip sample prototype evaluation"
).split()


def text_of(i: int, version: int = 0) -> str:
    rng = random.Random(i * 1000 + version)
    return f"Document {i} version {version}. " + " ".join(rng.choice(WORDS) for _ in range(60)) + "."


DOC_NAME = re.compile(rb"(?:doc\d{3}|zz_new\d)\.txt")


def rows(store: Path) -> int | None:
    """Documents written to collection ``c`` so far (distinct paths in its shard's log and payload files, read-only);
    -1 before the collection exists."""
    folder = store / "collections" / "c"
    if not (folder / "collection.json").exists():
        return -1
    names: set[bytes] = set()
    for path in (folder / "shard").rglob("*"):
        if not path.is_file() or any(p.startswith("vector_storage") for p in path.parts) or not path.stat().st_size:
            continue
        try:
            with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
                names.update(DOC_NAME.findall(data))
        except (OSError, ValueError):
            continue
    return len(names)


def log_bytes(store: Path) -> int:
    """Bytes of collection ``c``'s write-ahead log that are not zero-filled: grows with every write."""
    total = 0
    for path in (store / "collections" / "c" / "shard" / "wal").glob("*"):
        with open(path, "rb") as handle:
            total += len(handle.read().rstrip(b"\0"))
    return total


class Outcome(NamedTuple):
    killed: bool
    rows: int | None
    code: int
    stderr: str


def ingest_until(
    work: Path,
    docs: Path,
    store: Path,
    trigger: Callable[[int | None, str], bool],
    *extra: str,
    sig: signal.Signals = signal.SIGKILL,
) -> Outcome:
    """Run the CLI ingest and send it ``sig`` as soon as ``trigger(rows, stderr so far)`` holds.

    ``killed`` is true when the process was still running when the signal was sent and died of a SIGKILL.
    """

    err_path = work / "stderr.txt"
    with open(err_path, "w") as err, open(work / "stdout.txt", "w") as out:
        proc = subprocess.Popen(
            [*CLI, "ingest", str(docs), "--store", str(store), "--collection", "c", *OPTIONS, *extra],
            cwd=work, env=cli_env(), stdout=out, stderr=err,
            # a test runner started in the background inherits SIGINT ignored; a terminal's Ctrl-C is not
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.monotonic() + 300
        seen = None
        while proc.poll() is None and time.monotonic() < deadline:
            seen = rows(store)
            if trigger(seen, err_path.read_text()):
                proc.send_signal(sig)
                break
            time.sleep(0.01)
        code = proc.wait(timeout=120)
    return Outcome(code == -signal.SIGKILL, seen, code, err_path.read_text())


def check_store(store: Path, allowed: dict[str, set[str]]) -> dict[str, str]:
    """Every point: id = UUID5(path), one per path, sha256 among those its file had. Returns path -> sha256."""
    db = open_store(store)
    try:
        if not db.exists("c"):
            return {}
        stored = list(db.scroll("c", payload=["path", "sha256"]))
    finally:
        db.close()
    found: dict[str, str] = {}
    for p in stored:
        path = p.payload["path"]
        assert p.point_id == point_id(path)
        assert path not in found, f"duplicate point for {path}"
        assert p.payload["sha256"] in allowed[path], f"{path} stored with a sha256 its file never had"
        found[path] = p.payload["sha256"]
    return found


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_sigkill_at_any_moment_then_rerun_leaves_exactly_one_current_point_per_document(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    texts = {f"doc{i:03d}.txt": text_of(i) for i in range(N_FILES)}
    for name, text in texts.items():
        (docs / name).write_text(text)
    (docs / "empty.txt").write_text("")
    (docs / "blob.txt").write_bytes(bytes(range(256)) * 8)  # binary: never a point
    store = tmp_path / "store"
    allowed = {name: {sha(text)} for name, text in texts.items()}
    kills: list[tuple[str, int | None]] = []

    def kill_when(label: str, trigger, *extra: str) -> None:
        killed, seen, code, err = ingest_until(tmp_path, docs, store, trigger, *extra)
        assert killed, f"{label}: the ingest ended (code {code}) before the kill: {err[-2000:]}"
        kills.append((label, seen))
        check_store(store, allowed)  # the store opens after every kill, with no duplicate or foreign sha256

    # first ingest of 160 files, killed at five moments
    kill_when("while starting, before the files are listed", lambda n, err: True)
    kill_when("after listing, while the model loads", lambda n, err: "reading" in err)
    kill_when("right after the collection appears", lambda n, err: n is not None and n >= 0)
    kill_when("after 40 points", lambda n, err: n is not None and n >= 40)
    kill_when("after 100 points", lambda n, err: n is not None and n >= 100)
    # Ctrl-C (SIGINT) is not a crash: click prints "Aborted!" and exits 1, the store stays consistent. Sent at the
    # first write of a --force run, with ~19 batches of 8 documents still to embed: a signal sent near the end of a
    # resumed run (as it once was, at >= 130 of 160 documents) could land after the last write, while the
    # interpreter was shutting down with SIGINT's default action restored (exit -2, nothing printed).
    stamp = log_bytes(store)
    interrupted = ingest_until(tmp_path, docs, store, lambda n, err: log_bytes(store) != stamp, "--force",
                               sig=signal.SIGINT)
    assert interrupted.code == 1 and "Aborted!" in interrupted.stderr and "Traceback" not in interrupted.stderr
    check_store(store, allowed)

    # change 20 files, delete 10, add 10, and kill the --prune re-ingest (which also resumes the first) twice
    for i in range(20):
        name = f"doc{i:03d}.txt"
        texts[name] = text_of(i, version=1)
        (docs / name).write_text(texts[name])
        allowed[name].add(sha(texts[name]))
    for i in range(N_FILES - 10, N_FILES):
        (docs / f"doc{i:03d}.txt").unlink()
        del texts[f"doc{i:03d}.txt"]
    for i in range(10):
        name = f"zz_new{i}.txt"
        texts[name] = text_of(1000 + i)
        (docs / name).write_text(texts[name])
        allowed[name] = {sha(texts[name])}
    before = rows(store)
    stamp = log_bytes(store)
    kill_when("at the first rewrite of a changed file", lambda n, err: log_bytes(store) != stamp, "--prune")
    kill_when("while adding points (documents not stored yet, new files)", lambda n, err: n is not None and n > before,
              "--prune")

    done = run_cli("ingest", str(docs), "--store", str(store), "--collection", "c", *OPTIONS, "--prune", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "failed: blob.txt: binary file" in done.stderr and "failed: empty.txt: empty file" in done.stderr

    final = check_store(store, allowed)
    duplicates = 0  # check_store fails on any
    missing = sorted(set(texts) - set(final))
    stale = sorted(p for p in final if final[p] != sha(texts[p]))
    extra = sorted(set(final) - set(texts))
    print(f"kills={len(kills)} files={N_FILES + 10} readable={len(texts)} duplicates={duplicates} "
          f"missing={len(missing)} stale={len(stale)} extra={len(extra)}; kill points: {kills}")
    assert len(kills) >= 5
    assert (missing, stale, extra) == ([], [], [])
    assert len(final) == len(texts) == N_FILES

    # every vector is the embedding of the file's current text (no half-written or stale vector)
    db = open_store(store)
    encoder = Encoder(db.settings("c"), RunOptions(device="cpu"))
    stored = list(db.scroll("c", payload=["path"], vectors=[DOC_VECTOR]))
    db.close()
    paths = [p.payload["path"] for p in stored]
    expected = encoder.encode([texts[p] for p in paths])
    for p, e in zip(paths, expected, strict=True):
        got = next(s for s in stored if s.payload["path"] == p).vectors[DOC_VECTOR]
        np.testing.assert_allclose(got, e.vector, atol=1e-5)

    # and one more run changes nothing
    again = run_cli("ingest", str(docs), "--store", str(store), "--collection", "c", *OPTIONS, "--prune", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"0 new, 0 updated, {N_FILES} unchanged, 0 pruned, 2 failed" in again.stdout
