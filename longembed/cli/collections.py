"""``longembed collections list|info|drop``: the collections of a store, their settings, and removing one.

Registered on the main command group by :mod:`longembed.cli`; of that package it imports only
:mod:`longembed.cli.errors` and :mod:`longembed.cli.options` (no cycle).
"""

from __future__ import annotations

import json
import sys

import click

from longembed.cli.errors import user_errors
from longembed.cli.options import check_collection, store_location_options


def _open(store: str, qdrant_url: str | None):
    from longembed.store import open_store

    return open_store(store, qdrant_url, create=False)


def _passages_text(info: dict) -> str:
    """``passages=none``, or e.g. ``passages=naive passage_size=128 passage_sentences=1``."""
    if info["passages"] == "none":
        return "passages=none"
    return f"passages={info['passages']} passage_size={info['passage_size']} passage_sentences={info['passage_sentences']}"


@click.group("collections")
def collections() -> None:
    """List, inspect or drop the collections of a store."""


@collections.command("list")
@store_location_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per collection, one per line.")
@user_errors
def list_collections(store, qdrant_url, as_json) -> None:
    """Each longembed collection: name, documents, model, method, max length, passages (mode, size in tokens,
    sentences per passage; 0 sentences: token windows)."""
    with _open(store, qdrant_url) as db:
        for info in db.collection_infos():  # collections longembed did not make are left out
            if as_json:
                click.echo(json.dumps(info, ensure_ascii=False))
            else:
                click.echo(f"{info['name']}\t{info['documents']} documents\t{info['model']}\t{info['extend']}"
                           f"\tmax_length={info['max_length']}\t{_passages_text(info)}")


@collections.command("info")
@click.argument("name", callback=check_collection)
@store_location_options
@user_errors
def info(name, store, qdrant_url) -> None:
    """NAME's recorded settings (model, method and parameters, max length, prefixes, passages) and size, as JSON."""
    with _open(store, qdrant_url) as db:
        click.echo(json.dumps(db.collection_info(name), indent=2, ensure_ascii=False))


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
