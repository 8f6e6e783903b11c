"""Output formats are one registry (longembed/cli/output.py): the commands' format flags derive from it, and a new
format is one entry there (here a throwaway ``tsv``), with no change to any command."""

from __future__ import annotations

import click
from click.testing import CliRunner

from longembed.cli import main
from longembed.cli.output import FORMATS, OutputFormat, output_option, show

INFO = {"name": "c", "documents": 3, "model": "m", "extend": "pi", "max_length": 9, "passages": "none"}


def format_flags(*path: str) -> list[str]:
    command = main
    for name in path:
        command = command.commands[name]
    return [opt for p in command.params if p.name == "output" for opt in p.opts]


def test_the_format_flags_of_each_command_are_the_registrys():
    for command in ("query", "collections list", "models inspect"):
        expected = [f"--{name}" for name, fmt in FORMATS.items() if command in fmt.help]
        assert format_flags(*command.split()) == expected == ["--json"]


def test_a_new_format_is_one_registry_entry(monkeypatch):
    tsv = OutputFormat(collection=lambda info: "\t".join(str(v) for v in info.values()),
                       help={"collections list": "Tab-separated values."})
    monkeypatch.setitem(FORMATS, "tsv", tsv)

    @click.command()
    @output_option("collections list")  # what `longembed collections list` is decorated with
    def listing(output):
        show("collection", output, INFO)

    runner = CliRunner()
    assert runner.invoke(listing, ["--tsv"]).output == "c\t3\tm\tpi\t9\tnone\n"
    assert runner.invoke(listing, ["--json"]).output.startswith('{"name": "c", ')
    assert runner.invoke(listing, []).output == "c\t3 documents\tm\tpi\tmax_length=9\tpassages=none\n"
    assert "--tsv   Tab-separated values." in runner.invoke(listing, ["--help"]).output
