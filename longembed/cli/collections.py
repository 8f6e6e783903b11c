"""``longembed collections list|info|drop``: the collections of a store, their settings, and removing one.

Registered on the main command group by :mod:`longembed.cli`; of that package it imports only
:mod:`longembed.cli.errors` and :mod:`longembed.cli.options` (no cycle).
"""

from __future__ import annotations

import sys

import click

from longembed.cli.errors import user_errors
from longembed.cli.options import check_collection, store_location_options
from longembed.cli.output import json_text, output_option, show


def _open(store: str, qdrant_url: str | None):
    from longembed.store import open_store

    return open_store(store, qdrant_url, create=False)


@click.group("collections")
def collections() -> None:
    """List, inspect or drop the collections of a store."""


@collections.command("list")
@store_location_options
@output_option("collections list")
@user_errors
def list_collections(store, qdrant_url, output) -> None:
    """Each longembed collection: name, documents, model, method, max length, passages (mode, size in tokens,
    sentences per passage; 0 sentences: token windows)."""
    with _open(store, qdrant_url) as db:
        for info in db.collection_infos():  # collections longembed did not make are left out
            show("collection", output, info)


@collections.command("info")
@click.argument("name", callback=check_collection)
@store_location_options
@user_errors
def info(name, store, qdrant_url) -> None:
    """NAME's recorded settings (model, method and parameters, max length, prefixes, passages) and size, as JSON."""
    with _open(store, qdrant_url) as db:
        click.echo(json_text(db.collection_info(name), indent=2))


@collections.command("drop")
@click.argument("name", callback=check_collection)
@store_location_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@user_errors
def drop(name, store, qdrant_url, yes) -> None:
    """Delete collection NAME and every point in it (asks first unless --yes)."""
    with _open(store, qdrant_url) as db:
        count = db.count(name) if db.exists(name) else None
        if count is None:
            db.settings(name)  # raises CollectionNotFound naming the existing ones
        if not yes and not click.confirm(f"drop collection {name!r} ({count} documents)?", err=True):
            click.echo("nothing dropped", err=True)
            sys.exit(1)
        db.delete_collection(name)
        click.echo(f"dropped collection {name!r} ({count} documents)", err=True)
