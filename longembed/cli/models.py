"""``longembed models inspect``: what longembed sees in a model (:mod:`longembed.model_info`)."""

from __future__ import annotations

import click

from longembed.cli.errors import user_errors
from longembed.cli.output import output_option, show
from longembed.settings import DEFAULT_MAX_LENGTH, DEFAULT_MODEL


@click.group()
def models() -> None:
    """Look at embedding models as longembed uses them."""


@models.command("inspect")
@click.argument("model", default=DEFAULT_MODEL)
@click.option(
    "--max-length",
    type=int,
    default=DEFAULT_MAX_LENGTH,
    show_default=True,
    help="Target length L_t from which the methods' defaults are derived.",
)
@output_option("models inspect")
@click.option("--device", default="cpu", show_default=True, help="auto, cpu or cuda.")
@user_errors
def inspect_command(model, max_length, output, device) -> None:
    """Print MODEL's family, position encoding, original length L_o, hidden size and embedding dimension,
    pooling, prefixes, and the extension methods that apply to it with their default parameters."""
    from longembed.model_info import inspect_model

    show("model", output, inspect_model(model, max_length=max_length, device=device))
