"""Two different files never share a point (issue 14 rows 1, 2), through the real CLI and the bundled model.

The rule (``longembed/ingest/identity.py``): a document is stored under its path relative to the ingested
root; the same file reached from another root keeps its point; a different file whose relative path is
already held by a file that still exists is stored under its absolute path. Stores written by the code before
this rule (commit ae85906, extracted with ``git archive``) keep their points.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from clitools import FAST, run_cli
from conftest import REPO

from longembed.store import Store, point_id

pytestmark = pytest.mark.slow  # several CLI ingests per test: 18-58 s each on 2 cores

BEFORE_RULE = "ae85906"
"""The commit of main before the identity rule (a store written by it must keep working)."""


def stored(store: Path, collection: str = "default") -> dict[str, dict]:
    """path -> payload of every point (each point's id is the UUID5 of its stored path)."""
    with Store(path=store, create=False) as db:
        points = list(db.scroll(collection))
    out = {}
    for p in points:
        assert p.point_id == point_id(p.payload["path"])
        out[p.payload["path"]] = p.payload
    return out


def summary(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.slow  # four CLI processes: ~60 s on 2 shared cores
def test_same_relative_path_in_two_folders_keeps_both_documents(tmp_path):
    (tmp_path / "projA").mkdir()
    (tmp_path / "projB").mkdir()
    (tmp_path / "projA" / "notes.txt").write_text("Alpha project: the harbour committee approved a new pier.")
    (tmp_path / "projB" / "notes.txt").write_text("Beta project: tomatoes need sun, water and a stake.")
    store = tmp_path / "s"
    assert "1 new" in summary(run_cli("ingest", "projA", "--store", str(store), *FAST, cwd=tmp_path))
    second = summary(run_cli("ingest", "projB", "--store", str(store), *FAST, cwd=tmp_path))
    assert "1 new" in second and "updated" not in second.replace("0 updated", ""), second
    points = stored(store)
    b_abs = str((tmp_path / "projB" / "notes.txt").resolve())
    assert sorted(points) == sorted(["notes.txt", b_abs])
    assert points["notes.txt"]["text"].startswith("Alpha") and points[b_abs]["text"].startswith("Beta")
    # both again: nothing changes, nothing is re-embedded
    for folder in ("projA", "projB"):
        again = summary(run_cli("ingest", folder, "--store", str(store), *FAST, cwd=tmp_path))
        assert "1 unchanged" in again and "0 new" in again, again
    assert sorted(stored(store)) == sorted(["notes.txt", b_abs])
    # the query finds each by its own text
    done = run_cli("query", "tomatoes and sun", "-k", "1", "--json", "--store", str(store), cwd=tmp_path)
    assert json.loads(done.stdout)[0]["path"] == b_abs


@pytest.mark.slow  # three CLI processes: ~40 s
def test_subfolder_then_parent_stores_both_files_and_never_reports_a_missing_one_unchanged(tmp_path):
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("The top-level file talks about rockets and kerosene.")
    (root / "sub" / "a.txt").write_text("The nested file talks about cats chasing mice.")
    store = tmp_path / "s"
    assert "1 new" in summary(run_cli("ingest", "root/sub", "--store", str(store), *FAST, cwd=tmp_path))
    line = summary(run_cli("ingest", "root", "--store", str(store), *FAST, cwd=tmp_path))
    assert "1 new" in line and "0 updated" in line and "1 unchanged" in line, line
    points = stored(store)
    top = str((root / "a.txt").resolve())
    assert sorted(points) == sorted(["a.txt", top])  # sub/a.txt keeps its first point, the top file is new
    assert points["a.txt"]["source"] == str((root / "sub" / "a.txt").resolve())
    assert points[top]["text"].startswith("The top-level")
    third = summary(run_cli("ingest", "root", "--store", str(store), *FAST, cwd=tmp_path))
    assert "0 new" in third and "2 unchanged" in third, third


def test_moved_folder_still_takes_over_its_points(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "notes.txt").write_text("The harbour committee approved a new pier.")
    store = tmp_path / "s"
    summary(run_cli("ingest", "old", "--store", str(store), *FAST, cwd=tmp_path))
    (tmp_path / "old").rename(tmp_path / "new")
    line = summary(run_cli("ingest", "new", "--store", str(store), *FAST, cwd=tmp_path))
    assert "0 new" in line and "1 unchanged" in line, line
    points = stored(store)
    assert list(points) == ["notes.txt"]
    assert points["notes.txt"]["source"] == str((tmp_path / "new" / "notes.txt").resolve())


@pytest.mark.slow  # four CLI processes: ~35 s
def test_a_store_written_before_the_rule_keeps_its_points(tmp_path):
    """The store is built by the code of commit ae85906 (extracted from git, run in a subprocess)."""
    old_code = tmp_path / "old-code"
    old_code.mkdir()
    archive = tmp_path / "old.tar"
    made = subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(archive), BEFORE_RULE, "longembed"],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"commit {BEFORE_RULE} not available: {made.stderr.strip()}")
    with tarfile.open(archive) as tar:
        tar.extractall(old_code, filter="data")
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "cats.txt").write_text("Cats purr and chase mice around the barn at night.")
    (docs / "sub" / "rockets.txt").write_text("The rocket engine burns liquid oxygen and kerosene.")
    store = tmp_path / "s"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(old_code)}
    old = subprocess.run([sys.executable, "-m", "longembed.cli", "ingest", "docs", "--store", str(store), *FAST],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert old.returncode == 0 and "2 new" in old.stdout, old.stderr
    before = stored(store)
    line = summary(run_cli("ingest", "docs", "--store", str(store), *FAST, cwd=tmp_path))
    assert "0 new" in line and "2 unchanged" in line, line
    (docs / "cats.txt").write_text("Cats sleep all day in the sun.")
    line = summary(run_cli("ingest", "docs", "--store", str(store), *FAST, cwd=tmp_path))
    assert "1 updated" in line and "1 unchanged" in line, line
    after = stored(store)
    assert sorted(after) == sorted(before) == ["cats.txt", "sub/rockets.txt"]
    assert after["cats.txt"]["text"] == "Cats sleep all day in the sun."
