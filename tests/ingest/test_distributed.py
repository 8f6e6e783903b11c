"""``longembed ingest --ray``: on a local Ray instance (2 CPUs) the sample meetings get exactly the points of the
single-process ingest (ids, payloads, ``doc`` vectors and passage vectors within 1e-5, identical ``bm25`` sparse
vectors), also when an encoder actor dies mid-run; a driver killed mid-way and run again leaves nothing lost or
duplicated; without Ray, ``--ray`` is a one-line error.

Real Ray (the ``dev`` extra installs it), the real all-MiniLM-L6-v2 model, the real embedded store."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from clitools import CLI, REPO, cli_env, run_cli
from pointtools import assert_same_points, points_of
from longembed.ingest import ingest
from longembed.settings import IndexSettings
from longembed.store import open_store

SAMPLE = REPO / "examples" / "meetings" / "docs"


def points(store: Path, collection: str = "c") -> dict[str, tuple[dict, dict]]:
    with open_store(store, create=False) as db:
        return points_of(db, collection)


@pytest.mark.slow  # two default ingests of the 20 sample meetings: ~2 minutes on 2 cores
def test_ray_ingest_writes_the_points_of_the_single_process_ingest_even_when_an_actor_dies(tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    from longembed.ingest import distributed
    from longembed.ingest import RayOptions

    with open_store(tmp_path / "single") as db:
        single = ingest(SAMPLE, IndexSettings(), db, "c", progress=False)
    assert single.documents == 20

    killed = []
    write = distributed._RayLoop._write

    def write_after_killing_an_actor(loop, flight):
        if not killed:  # an encoder actor dies with batches in flight: Ray restarts it and retries them
            killed.append(loop.pool.actors[0])
            ray.kill(loop.pool.actors[0], no_restart=False)
        return write(loop, flight)

    monkeypatch.setattr(distributed._RayLoop, "_write", write_after_killing_an_actor)
    with open_store(tmp_path / "ray") as db:
        on_ray = ingest(SAMPLE, IndexSettings(), db, "c", progress=False, ray=RayOptions(num_cpus=2))
    assert killed and not ray.is_initialized()  # the local instance this run started is stopped
    assert (on_ray.documents, on_ray.tokens, sorted(on_ray.new)) == (single.documents, single.tokens, sorted(single.new))
    assert sorted(on_ray.truncated) == sorted(single.truncated) and not on_ray.failed

    want = points(tmp_path / "single")
    assert all(len(vectors["chunks"]) > 1 for _, vectors in want.values())  # passages are compared too
    assert_same_points(points(tmp_path / "ray"), want)


MEETING = re.compile(rb"[A-Z]{2}\d{4}[a-d]\.txt")


def written(store: Path) -> int:
    """Meetings whose name appears in collection ``c``'s shard files so far (read-only, from outside)."""
    names: set[bytes] = set()
    for folder, _, files in os.walk(store / "collections" / "c" / "shard"):  # skips folders that vanish meanwhile
        if "vector_storage" in Path(folder).parts:
            continue
        for name in files:
            try:
                names.update(MEETING.findall((Path(folder) / name).read_bytes()))
            except OSError:
                continue
    return len(names)


@pytest.mark.slow  # a Ray ingest killed, then run again; a single-process ingest to compare: ~2 minutes
def test_a_ray_ingest_killed_mid_way_then_run_again_loses_and_duplicates_nothing(tmp_path):
    pytest.importorskip("ray")
    options = ["--no-progress", "--collection", "c"]  # the defaults: a batch of 8 meetings takes seconds
    store = tmp_path / "ray"
    with open(tmp_path / "stderr.txt", "w") as err:
        proc = subprocess.Popen(
            [*CLI, "ingest", str(SAMPLE), "--store", str(store), *options, "--ray"],
            cwd=tmp_path, env=cli_env(), stdout=subprocess.DEVNULL, stderr=err,
        )
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline and written(store) < 1:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL, (tmp_path / "stderr.txt").read_text()[-2000:]
    before = written(store)
    assert 1 <= before < 20  # killed after its first batch was written, before the last
    again = run_cli("ingest", str(SAMPLE), "--store", str(store), *options, "--ray", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"ingested {20 - before} documents" in again.stdout and f"{before} unchanged, 0 pruned, 0 failed" in again.stdout
    single = run_cli("ingest", str(SAMPLE), "--store", str(tmp_path / "single"), *options, cwd=tmp_path)
    assert single.returncode == 0, single.stderr[-2000:]
    got, want = points(store), points(tmp_path / "single")
    assert len(got) == 20
    assert_same_points(got, want)


def test_ray_without_ray_installed_is_one_line_and_writes_nothing(tmp_path):
    shadow = tmp_path / "no_ray" / "ray"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("A short note about the harbour budget.")
    env = {**cli_env(), "PYTHONPATH": f"{shadow.parent}:{REPO}"}
    done = subprocess.run([*CLI, "ingest", "docs", "--store", "store", "--ray"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == "error: --ray needs Ray, which is not installed: pip install 'longembed[ray]'"
    assert "Traceback" not in done.stderr and not (tmp_path / "store").exists()


def test_ray_encoders_without_ray_is_one_line(tmp_path):
    (tmp_path / "a.txt").write_text("A short note.")
    done = run_cli("ingest", "a.txt", "--store", "store", "--ray-encoders", "2", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == ["error: --ray-encoders needs --ray"]


def test_files_that_cannot_be_read_are_listed_per_file_on_ray_as_in_one_process(tmp_path):
    pytest.importorskip("ray")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("The harbour budget was approved by the committee on Tuesday.")
    (docs / "empty.txt").write_text("")
    (docs / "blob.txt").write_bytes(bytes(range(256)) * 8)
    fast = ["--extend", "none", "--max-length", "128", "--no-progress"]
    outputs = []
    for extra in ([], ["--ray"]):
        done = run_cli("ingest", "docs", "--store", f"store{len(extra)}", *fast, *extra, cwd=tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        failed = sorted(line for line in done.stderr.splitlines() if line.startswith("failed: "))
        outputs.append((failed, done.stdout.split("; in ")[0]))
    assert outputs[1] == outputs[0]
    assert outputs[0][0] == [
        "failed: blob.txt: binary file, not text (it holds NUL bytes and no UTF-16/32 byte-order mark)",
        "failed: empty.txt: empty file",
    ]
    assert outputs[0][1].startswith("ingested 1 document (13 tokens): 1 new, 0 updated, 0 unchanged, 0 pruned, 2 failed")
