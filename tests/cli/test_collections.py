"""``longembed collections list|info|drop`` through the real CLI (subprocesses, real MiniLM, real store)."""

from __future__ import annotations

import json

import pytest

from clitools import FAST, assert_one_line_error, run_cli

pytestmark = pytest.mark.slow  # eight CLI processes, each loading torch: ~1-2 min on 2 cores


def test_list_info_drop(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "cats.txt").write_text("Cats purr and chase mice around the barn at night.")
    (docs / "rockets.txt").write_text("The engine burns liquid oxygen and kerosene.")
    assert run_cli("ingest", str(docs), *FAST, "--collection", "notes", cwd=tmp_path).returncode == 0
    assert run_cli("ingest", str(docs / "cats.txt"), *FAST, "--collection", "pets", cwd=tmp_path).returncode == 0

    listed = run_cli("collections", "list", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in map(json.loads, listed.stdout.splitlines())}
    assert {n: (r["documents"], r["extend"], r["max_length"]) for n, r in rows.items()} == {
        "notes": (2, "none", 128), "pets": (1, "none", 128)}

    info = run_cli("collections", "info", "notes", cwd=tmp_path)
    assert info.returncode == 0 and json.loads(info.stdout)["model"] == "sentence-transformers/all-MiniLM-L6-v2"

    # the settings-mismatch error names the commands that resolve it
    other = run_cli("ingest", str(docs), "--extend", "none", "--max-length", "64", "--no-progress",
                    "--collection", "notes", cwd=tmp_path)
    assert_one_line_error(other, "longembed collections info notes", "longembed collections drop notes")

    refused = run_cli("collections", "drop", "notes", cwd=tmp_path, stdin="n\n")
    assert refused.returncode == 1 and "nothing dropped" in refused.stderr
    dropped = run_cli("collections", "drop", "notes", "--yes", cwd=tmp_path)
    assert dropped.returncode == 0 and "dropped collection 'notes' (2 documents)" in dropped.stderr
    after = run_cli("collections", "list", cwd=tmp_path)
    assert [line.split("\t")[0] for line in after.stdout.splitlines()] == ["pets"]
    assert_one_line_error(run_cli("collections", "info", "notes", cwd=tmp_path), "'notes' does not exist")
