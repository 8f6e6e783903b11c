"""`longembed query` reads bounded input and refuses bad arguments before the model loads (issue 24, rows 5 and 7).

Every case runs the real CLI in a subprocess. The memory cases run under an address-space limit of 1 GiB
(``RLIMIT_AS``): before the bound, ``--file /dev/zero`` grew without end and a 2 GiB one-line file was read whole.
The early-check cases use a collection whose recorded model folder was removed after ingest, so any model load
fails: a message about ``k``, the mode, the unit or an empty query proves the check came first.
"""

from __future__ import annotations

import resource
from pathlib import Path

import pytest
from clitools import FAST, assert_one_line_error, run_cli

from longembed.cli.query_batch import MAX_QUERY_LINE_BYTES

MEMORY_LIMIT = 1 << 30


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.fixture(scope="module")
def modelless_store(tmp_path_factory) -> Path:
    """A dense-only collection without passages whose model (a symlink to the bundled one) is gone."""
    from longembed.models.bundled import bundled_model_path

    work = tmp_path_factory.mktemp("modelless")
    (work / "docs").mkdir()
    (work / "docs" / "a.txt").write_text("The harbour committee approved a new pier for the fishing fleet.")
    (work / "model").symlink_to(bundled_model_path())
    done = run_cli("ingest", "docs", "--store", "store", "--model", "model", *FAST, "--passages", "none",
                   "--sparse", "none", cwd=work)
    assert done.returncode == 0, done.stderr
    (work / "model").unlink()
    return work


def test_query_file_from_dev_zero_is_refused_at_the_line_bound(tmp_path):
    done = run_cli("query", "--file", "/dev/zero", "--store", "store", cwd=tmp_path, preexec_fn=limit_memory,
                   timeout=120)
    assert_one_line_error(done, "/dev/zero line 1: longer than", str(MAX_QUERY_LINE_BYTES))


def test_standard_input_of_zeros_is_refused_at_the_line_bound(tmp_path):
    import subprocess

    from clitools import CLI, cli_env

    with open("/dev/zero", "rb") as zeros:
        done = subprocess.run([*CLI, "query", "--file", "-", "--store", "store"], cwd=tmp_path, env=cli_env(),
                              stdin=zeros, capture_output=True, text=True, preexec_fn=limit_memory, timeout=120)
    assert_one_line_error(done, "standard input line 1: longer than")


@pytest.mark.parametrize("name", ["huge.jsonl", "huge.txt"])
def test_a_huge_line_is_refused_before_it_is_held(tmp_path, name):
    """A 2 GiB line (a sparse file) after a good line: refused naming line 2, before the model loads."""
    path = tmp_path / name
    with path.open("wb") as f:
        f.write(b'{"query": "harbour pier"}\n' if name.endswith(".jsonl") else b"harbour pier\n")
        f.truncate(2 << 30)
    done = run_cli("query", "--file", name, "--store", "store", cwd=tmp_path, preexec_fn=limit_memory, timeout=120)
    assert_one_line_error(done, f"{name} line 2: longer than {MAX_QUERY_LINE_BYTES} bytes")
    assert done.stdout == ""  # nothing answered: the file is checked before the store opens


def test_query_on_stdin_over_the_bound_is_refused(tmp_path):
    done = run_cli("query", "-", "--store", "store", cwd=tmp_path, stdin="word " * (MAX_QUERY_LINE_BYTES // 5 + 1))
    assert_one_line_error(done, "the query on standard input is longer than")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["", "-k", "3"], "the query is empty"),
        (["  "], "the query is empty"),
        (["pier", "-k", "0"], "k must be between 1 and 1000, got 0"),
        (["--file", "q.txt", "-k", "1001"], "k must be between 1 and 1000, got 1001"),
        (["pier", "--mode", "sparse"], "has no bm25 sparse vector, so --mode sparse cannot run"),
        (["--file", "q.txt", "--mode", "hybrid"], "has no bm25 sparse vector, so --mode hybrid cannot run"),
        (["pier", "--unit", "passage"], "has no passages"),
    ],
)
def test_arguments_are_checked_before_the_model_loads(modelless_store, args, message):
    (modelless_store / "q.txt").write_text("harbour pier\n")
    done = run_cli("query", *args, "--store", "store", cwd=modelless_store)
    assert_one_line_error(done, message)


def test_the_model_is_loaded_when_the_arguments_are_fine(modelless_store):
    """The control: the same store with good arguments reaches the model load, which fails (the model is gone)."""
    done = run_cli("query", "pier", "--store", "store", cwd=modelless_store)
    assert_one_line_error(done, "model")


@pytest.mark.parametrize("command", ["info", "drop"])
def test_collections_commands_do_not_echo_a_long_name_whole(tmp_path, command):
    done = run_cli("collections", command, "n" * 10_000, "--store", "store", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "n" * 80 + "…" in done.stderr and "n" * 81 not in done.stderr and len(done.stderr) < 1000
