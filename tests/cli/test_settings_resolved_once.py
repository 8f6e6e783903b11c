"""A command resolves its settings once: during a real ``longembed ingest`` (in process, click's CliRunner, the
bundled model) the model path is resolved (``resolve_model_path``) and the model's defaults are filled in
(``with_model_defaults``) one time each, whichever module calls them."""

from __future__ import annotations

import sys
from collections import Counter

from click.testing import CliRunner
from clitools import FAST

import longembed.cli.ingest  # noqa: F401  (the modules whose bound names are counted too)
import longembed.encoding.encoder  # noqa: F401
import longembed.ingest.pipeline  # noqa: F401
import longembed.ingest.run  # noqa: F401
import longembed.models.loading  # noqa: F401
from longembed.cli import main
from longembed.models import paths

COUNTED = ("resolve_model_path", "with_model_defaults")


def count_calls(monkeypatch) -> Counter:
    """Wrap each of :data:`COUNTED` wherever a longembed module holds it; the counter fills as they are called."""
    calls: Counter = Counter()
    for name in COUNTED:
        original = getattr(paths, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        for module in [m for key, m in sys.modules.items() if key.startswith("longembed") and m is not None]:
            if getattr(module, name, None) is original:
                monkeypatch.setattr(module, name, counted)
    return calls


def test_a_cli_ingest_resolves_the_model_and_its_defaults_once(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("A short document about resolving settings once.", encoding="utf-8")
    calls = count_calls(monkeypatch)
    result = CliRunner().invoke(
        main, ["ingest", str(docs), *FAST, "--passages", "none", "--sparse", "none", "--store", str(tmp_path / "s")]
    )
    assert result.exit_code == 0, result.output
    assert "ingested 1 document" in result.output
    assert dict(calls) == {"resolve_model_path": 1, "with_model_defaults": 1}
