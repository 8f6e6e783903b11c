"""Running the real ``longembed`` command line in subprocesses (no mocks): helpers shared by the CLI tests."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from conftest import REPO

CLI = [sys.executable, "-m", "longembed.cli"]
FAST = ["--extend", "none", "--max-length", "128", "--no-progress"]
"""Ingest options that keep CLI tests quick: 128 tokens per document, no extension, no progress bar."""


def cli_env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}  # this checkout's package


def run_cli(
    *args: str, cwd: Path, stdin: str | None = None, timeout: float = 600, preexec_fn: Callable | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, *args],
        cwd=cwd,
        env=cli_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def start_cli(*args: str, cwd: Path) -> subprocess.Popen:
    """Start the CLI without waiting; stderr is a line-readable text pipe, stdout too."""
    return subprocess.Popen(
        [*CLI, *args], cwd=cwd, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def assert_one_line_error(done: subprocess.CompletedProcess, *fragments: str, code: int = 1) -> str:
    """The command failed with ``code`` and printed exactly one ``error:`` line (no traceback) naming ``fragments``."""
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2
PR_CAPBSET_DROP = 24


def drop_file_read_override() -> None:
    """``preexec_fn`` for a child that must obey file permissions even as root.

    Root reads any file through the capabilities CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH; removing them from
    the bounding set before ``exec`` makes the child (still uid 0, so it can run this venv and write the
    store) get "Permission denied" for a ``chmod 000`` file it does not own the permission bits of.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def can_deny_reads() -> bool:
    """Whether a child started with :func:`drop_file_read_override` (as root) or as this user is denied a 000 file."""
    if os.geteuid() != 0:
        return True
    try:
        probe = subprocess.run(
            ["cat", "/proc/self/status"], preexec_fn=drop_file_read_override, capture_output=True, text=True
        )
    except (OSError, subprocess.SubprocessError):  # no CAP_SETPCAP (e.g. a restricted container)
        return False
    if probe.returncode != 0:
        return False
    cap_eff = next(line for line in probe.stdout.splitlines() if line.startswith("CapEff:")).split()[1]
    return not int(cap_eff, 16) & ((1 << CAP_DAC_OVERRIDE) | (1 << CAP_DAC_READ_SEARCH))
