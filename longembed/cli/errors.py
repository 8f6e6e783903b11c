"""How the command line reports a user error: one ``error:`` line on stderr and exit code 1.

Shared by every command module of :mod:`longembed.cli`, so that every command answers bad input the same way;
imports only click and :mod:`longembed.errors`.
"""

from __future__ import annotations

import functools
import sys

import click

from longembed.errors import LongEmbedError

EXIT_USER_ERROR = 1
"""Exit status of a command that stopped on bad input or a refused operation (click's usage errors exit 2)."""


def user_errors(func):
    """Turn a LongEmbedError into a one-line message and exit code 1 (a traceback only with ``longembed --debug``).

    Whitespace in the message (newlines included) is collapsed, so a message cannot print a second line."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except LongEmbedError as exc:
            if click.get_current_context().find_root().params.get("debug"):
                raise
            click.echo(f"error: {' '.join(str(exc).split())}", err=True)
            sys.exit(EXIT_USER_ERROR)

    return wrapper
