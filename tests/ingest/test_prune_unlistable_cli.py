"""``--prune`` after a sub-folder became unreadable, through the real CLI run as a user without DAC override
(``setpriv`` to ``nobody``): the folder's files are unknown, not gone, and keep their points."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from clitools import CLI, FAST, cli_env

from longembed.store import Store

NOBODY = 65534
SETPRIV = shutil.which("setpriv")


def as_nobody(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *args],
        cwd=cwd, env={**cli_env(), "HOME": str(cwd)}, capture_output=True, text=True, timeout=600,
    )


@pytest.fixture
def shared_dir():
    """A folder ``nobody`` owns, outside the test's root-only temporary folder."""
    if os.geteuid() != 0 or SETPRIV is None:
        pytest.skip("needs root and setpriv to run the CLI as a user without DAC override")
    folder = Path(tempfile.mkdtemp(prefix="longembed-nobody-"))
    os.chmod(folder, 0o755)
    os.chown(folder, NOBODY, NOBODY)
    probe = as_nobody(*CLI, "--help", cwd=folder)
    if probe.returncode != 0:
        shutil.rmtree(folder)
        pytest.skip(f"this checkout cannot be run as nobody: {probe.stderr.strip()[-200:]}")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_prune_keeps_the_points_of_a_folder_that_cannot_be_listed(shared_dir):
    docs = shared_dir / "d"
    (docs / "sub").mkdir(parents=True)
    (docs / "a.txt").write_text("Alpha text about owls in the old barn.")
    (docs / "sub" / "e.txt").write_text("Echo text about eels in the harbour.")
    for path in (docs, docs / "sub", docs / "a.txt", docs / "sub" / "e.txt"):
        os.chown(path, NOBODY, NOBODY)
    store = shared_dir / "store"
    first = as_nobody(*CLI, "ingest", str(docs), "--store", str(store), *FAST, cwd=shared_dir)
    assert first.returncode == 0 and first.stdout.startswith("ingested 2 documents"), first.stderr
    os.chmod(docs / "sub", 0)
    pruned = as_nobody(*CLI, "ingest", str(docs), "--store", str(store), *FAST, "--prune", cwd=shared_dir)
    assert pruned.returncode == 0, pruned.stderr
    assert "failed: sub/: cannot list this folder: Permission denied" in pruned.stderr
    assert "0 pruned" in pruned.stdout and "pruned: " not in pruned.stderr, (pruned.stdout, pruned.stderr)
    os.chmod(docs / "sub", 0o755)
    with Store(path=store, create=False) as db:
        assert sorted(p.payload["path"] for p in db.scroll("default", payload=["path"])) == ["a.txt", "sub/e.txt"]
