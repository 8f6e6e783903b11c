"""The command line answers --help and usage errors without importing torch or qdrant-client, and nothing
else in longembed imports it."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from clitools import CLI, cli_env
from conftest import REPO

from longembed.extenders import EXTENDERS
from longembed.settings import EXTEND_METHOD_NOTES, EXTEND_METHODS

HEAVY = ("torch", "transformers", "qdrant_client", "numpy")
SERVER = ("fastapi", "uvicorn", "starlette")


def test_importing_the_cli_loads_no_heavy_module():
    code = (
        "import json, sys, longembed.cli; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_help_and_a_usage_error_load_no_heavy_module():
    code = (
        "import json, sys\n"
        "from longembed.cli import main\n"
        "for argv in (['--help'], ['ingest', '--help'], ['query', 'x', '-k', 'many']):\n"
        "    try:\n"
        "        main(argv, standalone_mode=False)\n"
        "    except Exception as exc:\n"
        "        print(type(exc).__name__, file=sys.stderr)\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []
    assert "BadParameter" in proc.stderr  # the usage error was raised, not skipped


def test_the_method_names_the_cli_offers_are_the_registry():
    assert list(EXTEND_METHODS) == list(EXTENDERS)
    assert list(EXTEND_METHOD_NOTES) == list(EXTEND_METHODS)  # the --extend help names each method once


def imported_by(*argv: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``python -X importtime -m longembed.cli ARGV`` (the __main__ module, as `longembed` runs) and return
    it with the names of every module it imported (importtime's stderr lines "import time: ... | NAME")."""
    proc = subprocess.run(
        [CLI[0], "-X", "importtime", *CLI[1:], *argv], capture_output=True, text=True, env=cli_env(), check=False
    )
    names = set(re.findall(r"^import time:.*\|\s*(\S+)$", proc.stderr, flags=re.MULTILINE))
    return proc, names


def test_longembed_help_as_run_imports_no_heavy_or_server_module():
    for argv in (["--help"], ["serve", "--help"]):
        proc, names = imported_by(*argv)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.startswith("Usage: python -m longembed.cli ")
        assert {"click", "longembed.cli", "longembed.cli.options", "longembed.cli.serve"} <= names
        assert sorted(n for n in names if n.split(".")[0] in HEAVY + SERVER) == []


def test_nothing_in_longembed_outside_the_cli_imports_it():
    pattern = re.compile(r"^\s*(from longembed\.cli\b|import longembed\.cli\b|from longembed import .*\bcli\b)",
                         re.MULTILINE)
    package = REPO / "longembed"
    importers = [str(p.relative_to(REPO)) for p in sorted(package.rglob("*.py"))
                 if package / "cli" not in p.parents and pattern.search(p.read_text(encoding="utf-8"))]
    assert importers == []
    assert pattern.search((package / "cli" / "query.py").read_text(encoding="utf-8"))  # the pattern finds imports


def test_the_modes_fusions_and_sparse_choices_the_cli_offers_are_the_retrievers():
    from longembed.retrieve.hybrid import FUSIONS, MODES
    from longembed.settings import FUSIONS as SETTINGS_FUSIONS, MODES as SETTINGS_MODES, SPARSE_CHOICES
    from longembed.sparse.bm25_run import SPARSE_CHOICES as RUN_CHOICES

    assert (SETTINGS_MODES, SETTINGS_FUSIONS) == (MODES, FUSIONS)  # hybrid.py defines its own until it imports these
    assert RUN_CHOICES is SPARSE_CHOICES
