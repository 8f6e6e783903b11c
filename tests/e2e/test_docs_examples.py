"""Every Python block and shell example of README.md, and every program in ``examples/``, runs on the sample data.

How to mark a README block that cannot run here (a GPU, the network, a model or data that is not in the
repository, a command that never ends): put ONE HTML comment on the line right before its opening fence,

    <!-- test: skip — needs a GPU -->

and the block is reported as skipped with that reason (``pytest -rs``). Everything else in a ```` ```python ````,
```` ```bash ````, ```` ```sh ```` or ```` ```shell ```` fence runs (collected by ``tests/docs_examples.py``), top
to bottom, in one temporary folder holding a copy of ``examples/`` (six of the 20 sample meetings, to keep the
LlamaIndex blocks to minutes) and ``my-docs/`` (three sample meetings), with
this checkout's ``longembed`` and ``python`` first on the PATH; a block fails the test when it exits non-zero.
Blocks of other languages (``text``, ``console``) are documentation only. Shell blocks run with
``bash -e -o pipefail``. Real weights (the bundled MiniLM); marked ``slow`` (minutes in all).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from docs_examples import Block, example_files, markdown_blocks

pytestmark = pytest.mark.slow

README_BLOCKS = markdown_blocks(REPO / "README.md")
EXAMPLES = example_files(REPO / "examples")
MY_DOCS = ("ES2010a.txt", "IS1001a.txt", "TS3003a.txt")
SAMPLE_SUBSET = ("ES2002a.txt", "ES2010a.txt", "ES2015a.txt", "IS1001a.txt", "IS1008a.txt", "TS3003a.txt")
"""The meetings kept in the copied ``examples/meetings/docs`` (ES2010a answers the README's cat question)."""
TIMEOUT = 1200


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """The reader's folder: ``examples/`` copied, ``my-docs/`` with three meetings, ``bin/`` with the shims."""
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(REPO / "examples", work / "examples", ignore=shutil.ignore_patterns("*.txt"))
    for name in SAMPLE_SUBSET:  # a subset of the meetings keeps the LlamaIndex blocks to minutes on 2 cores
        shutil.copy(REPO / "examples" / "meetings" / "docs" / name, work / "examples" / "meetings" / "docs" / name)
    (work / "my-docs").mkdir()
    for name in MY_DOCS:
        shutil.copy(REPO / "examples" / "meetings" / "docs" / name, work / "my-docs" / name)
    bin_dir = tmp_path_factory.mktemp("bin")
    for name, target in {"longembed": f'"{sys.executable}" -m longembed.cli', "python": f'"{sys.executable}"'}.items():
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec {target} "$@"\n')
        shim.chmod(0o755)
    (work / ".bin").symlink_to(bin_dir)
    return work


def run_env(work: Path) -> dict[str, str]:
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    path = os.pathsep.join((str(work / ".bin"), os.environ.get("PATH", "")))
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": pythonpath, "PATH": path}


def run_block(block: Block, work: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", block.code] if block.language == "python" else [
        "bash", "-e", "-o", "pipefail", "-c", block.code]
    return subprocess.run(command, cwd=work, env=run_env(work), capture_output=True, text=True, timeout=TIMEOUT)


_done: dict[int, subprocess.CompletedProcess] = {}


@pytest.mark.parametrize("index", range(len(README_BLOCKS)), ids=[b.name for b in README_BLOCKS])
def test_readme_block(index, workdir):
    """Block ``index`` runs after every earlier runnable block (run once each, whatever ``-k`` selects), as a
    reader who follows the README top to bottom."""
    block = README_BLOCKS[index]
    if block.skip is not None:
        pytest.skip(f"README.md:{block.line} marked: {block.skip}")
    for earlier in range(index + 1):
        if earlier not in _done and README_BLOCKS[earlier].skip is None:
            _done[earlier] = run_block(README_BLOCKS[earlier], workdir)
    done = _done[index]
    assert done.returncode == 0, f"README.md:{block.line} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr


def test_readme_has_runnable_blocks():
    """The collector sees the README's blocks: the LlamaIndex snippet runs, and every mark has a reason."""
    assert any("LongEmbedEmbedding(IndexSettings(" in b.code and b.skip is None for b in README_BLOCKS)
    assert all(b.skip for b in README_BLOCKS if b.skip is not None)


@pytest.mark.parametrize("path", EXAMPLES, ids=[str(p.relative_to(REPO)) for p in EXAMPLES])
def test_example_program(path, workdir):
    """``python examples/….py`` (or ``bash examples/….sh``) exits 0 from the reader's folder."""
    relative = path.relative_to(REPO)
    command = [sys.executable, str(relative)] if path.suffix == ".py" else ["bash", str(relative)]
    done = subprocess.run(command, cwd=workdir, env=run_env(workdir), capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, f"{relative} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
