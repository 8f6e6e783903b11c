"""Path problems through the real CLI (issue 14 rows 15, 16, 18, 19): a path the system refuses is one failure
line and the rest is ingested; empty or invalid collection names are usage errors; file symlinks leaving PATH
are skipped unless --follow-links; file names in messages cannot forge lines. Bundled all-MiniLM-L6-v2."""

from __future__ import annotations

import json
import os

import pytest
from clitools import FAST, run_cli

DEPTH, NAME_CHARS = 22, 200
"""22 folders of 200-character names: a 4,400-byte path, over Linux's PATH_MAX of 4,096."""


def make_deep_file(base) -> None:
    """Create base/<200 x 'd'>/... (22 levels)/deep.txt through directory file descriptors (no long path)."""
    fd = os.open(base, os.O_RDONLY)
    try:
        for level in range(DEPTH):
            name = f"{level:02d}" + "d" * (NAME_CHARS - 2)
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        out = os.open("deep.txt", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
        os.write(out, b"A file too deep to be opened by its path.")
        os.close(out)
    finally:
        os.close(fd)


@pytest.mark.slow  # a CLI ingest of twelve files: ~13 s on 2 cores
def test_a_path_too_long_is_one_failure_and_the_rest_is_ingested(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(11):
        (docs / f"note{i:02d}.txt").write_text(f"Note number {i} about the harbour and its {i} boats.")
    make_deep_file(docs)
    done = run_cli("ingest", "docs", "--store", "s", *FAST, cwd=tmp_path)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    failed = [line for line in done.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1 and "File name too long" in failed[0], done.stderr
    assert "11 new" in done.stdout, done.stdout


@pytest.mark.parametrize("name", ["", "   ", "a/b", "..", "x" * 256, "a\nb"])
@pytest.mark.parametrize("command", ["ingest", "query"])
def test_empty_or_invalid_collection_is_a_usage_error(tmp_path, command, name):
    (tmp_path / "a.txt").write_text("Some text.")
    args = ["ingest", "a.txt", *FAST] if command == "ingest" else ["query", "text"]
    done = run_cli(*args, "--store", "s", "--collection", name, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "Invalid value for '--collection'" in done.stderr
    assert not (tmp_path / "s").exists()


@pytest.mark.slow  # four CLI ingests: ~100 s on 2 shared cores
def test_file_symlinks_leaving_path_are_skipped_unless_follow_links(tmp_path):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "creds.txt").write_text("The password of the harbour office is swordfish.")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Tomatoes need sun, water and a wooden stake to climb.")
    (docs / "link.txt").symlink_to(tmp_path / "elsewhere" / "creds.txt")
    (docs / "inside.txt").symlink_to(docs / "a.txt")  # stays inside PATH: read
    done = run_cli("ingest", "docs", "--store", "s", *FAST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 symlink(s) leaving the folder" in done.stderr and "2 new" in done.stdout, (done.stderr, done.stdout)
    found = run_cli("query", "password", "-k", "5", "--json", "--store", "s", cwd=tmp_path)
    assert sorted(r["path"] for r in json.loads(found.stdout)) == ["a.txt", "inside.txt"]
    done = run_cli("ingest", "docs", "--store", "s", "--follow-links", *FAST, cwd=tmp_path)
    assert done.returncode == 0 and "1 new" in done.stdout, (done.stderr, done.stdout)
    found = run_cli("query", "password", "-k", "1", "--json", "--store", "s", cwd=tmp_path)
    assert json.loads(found.stdout)[0]["path"] == "link.txt"


@pytest.mark.slow  # a CLI ingest: ~17 s on 2 cores
def test_a_file_name_cannot_forge_an_error_line(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Tomatoes need sun, water and a wooden stake to climb.")
    evil = "evil\nerror: the store is damaged; delete it.txt"
    (docs / evil).write_text("")
    done = run_cli("ingest", "docs", "--store", "s", *FAST, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not [line for line in done.stderr.splitlines() if line.startswith("error:")], done.stderr
    assert f"failed: {evil!r}: empty file" in done.stderr.splitlines()
