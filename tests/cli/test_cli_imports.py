"""The command line answers --help and usage errors without importing torch or qdrant-client."""

from __future__ import annotations

import json
import subprocess
import sys

from longembed.extenders import EXTENDERS
from longembed.settings import EXTEND_METHODS

HEAVY = ("torch", "transformers", "qdrant_client", "numpy")


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
