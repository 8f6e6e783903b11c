"""The ``longembed`` command line (click). Parses options and calls the modules; no logic of its own."""

from __future__ import annotations

import functools
import json
import logging
import sys

import click

from longembed.errors import LongEmbedError
from longembed.extenders import EXTENDERS
from longembed.settings import DEFAULT_EXTEND, DEFAULT_MAX_LENGTH, DEFAULT_MODEL, IndexSettings
from longembed.store import DEFAULT_COLLECTION, DEFAULT_STORE

EXIT_OK = 0
"""Done. Files that could not be read are listed on stderr and counted in the summary; they do not fail a run."""
EXIT_USER_ERROR = 1
"""A user mistake or an unusable input, store or model (one ``error:`` line on stderr); nothing stored changed
except documents already written by the same run."""
EXIT_USAGE = 2
"""Click's usage error: an unknown option, a value of the wrong type, a missing argument."""
EXIT_CODES_HELP = (
    "Exit codes: 0 done (unreadable files are listed, not fatal); 1 error (one line on stderr, a traceback "
    "with --debug; nothing stored is lost); 2 bad usage (unknown option, wrong value type)."
)


def store_options(func):
    """--store / --qdrant-url / --collection, shared by every command that opens a collection."""
    func = click.option(
        "--collection", default=DEFAULT_COLLECTION, show_default=True, help="Qdrant collection name."
    )(func)
    func = click.option(
        "--qdrant-url",
        default=None,
        metavar="URL",
        help="Use a Qdrant server (e.g. http://localhost:6333) instead of the embedded local store.",
    )(func)
    func = click.option(
        "--store",
        default=DEFAULT_STORE,
        show_default=True,
        metavar="DIR",
        help="Directory of the embedded (local-mode) Qdrant store.",
    )(func)
    return func


def user_errors(func):
    """Turn a LongEmbedError into a one-line message and exit code 1 (a traceback only with --debug)."""

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


def parse_extend_params(values: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not KEY=VALUE", param_hint="--extend-param")
        params[key.strip()] = value.strip()
    return params


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.version_option(package_name="longembed")
def main(debug: bool) -> None:
    """Retrieval over long documents: one vector per whole document, from an embedding model whose
    context window is extended past its training length (LongEmbed, arXiv 2404.12096)."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s: %(message)s")
    if not debug:
        logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged PDF is reported once, as a failed file


@main.command()
@click.argument("path", type=click.Path(path_type=str, readable=False))  # scan() explains unreadable paths
@click.option(
    "--model",
    default=DEFAULT_MODEL,
    show_default=True,
    help="Hugging Face model directory or hub id. The default ships with longembed (no network needed).",
)
@click.option(
    "--extend",
    type=click.Choice(sorted(EXTENDERS)),
    default=DEFAULT_EXTEND,
    show_default=True,
    help="Context-window extension method: none (truncate at the model's length), pcw (parallel context "
    "windows), gp (grouped positions), rp (recurrent positions), pi (position interpolation).",
)
@click.option(
    "--extend-param",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter of the extension method (repeatable).",
)
@click.option(
    "--max-length",
    type=int,
    default=DEFAULT_MAX_LENGTH,
    show_default=True,
    help="Longest document in tokens; longer ones are truncated with a warning (target length L_t for pi).",
)
@click.option("--query-prefix", default="", help="Text put before every query (recorded in the collection).")
@click.option("--document-prefix", default="", help="Text put before every document (recorded in the collection).")
@store_options
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
@click.option(
    "--prune",
    is_flag=True,
    help="Also delete the points of documents whose file under PATH is gone (deleted, renamed, now hidden or "
    "unsupported). Never runs when no document under PATH is readable.",
)
@click.option(
    "--force", is_flag=True, help="Re-embed every document, even those whose text and settings are unchanged."
)
@user_errors
def ingest(
    path, model, extend, extend_param, max_length, query_prefix, document_prefix, store, qdrant_url, collection,
    device, progress, prune, force,
) -> None:
    """Embed every .txt .md .pdf .html file under PATH (a folder, searched recursively, or one file) as one
    whole document and store it in a Qdrant collection.

    Unchanged documents (same text sha256 and settings) are skipped, changed ones replace their point, so an
    interrupted run can simply be started again. Hidden files and folders are skipped, symlinked folders are
    not followed, files with other extensions are counted and skipped."""
    from longembed.encoder import resolve_model_path
    from longembed.ingest import ingest as run_ingest
    from longembed.ingest import scan
    from longembed.store import Store

    settings = IndexSettings(
        model=model,
        extend=extend,
        extend_params=parse_extend_params(extend_param),
        max_length=max_length,
        query_prefix=query_prefix,
        document_prefix=document_prefix,
    )
    listing = scan(path)  # a wrong path or model path fails before the store is opened or the model loaded
    resolve_model_path(model)
    click.echo(f"reading {listing.describe()}", err=True)
    with Store(path=store, url=qdrant_url) as db:
        summary = run_ingest(
            listing, settings, db, collection, progress=progress, prune=prune, force=force, device=device
        )
    for failure in summary.failed:
        click.echo(f"failed: {failure.path}: {failure.reason}", err=True)
    for pruned in summary.pruned:
        click.echo(f"pruned: {pruned}", err=True)
    click.echo(summary.line())


@main.command()
@click.argument("text")
@click.option("-k", "k", type=int, default=5, show_default=True, help="Number of documents to return.")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of results.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@user_errors
def query(text, k, store, qdrant_url, collection, as_json, device) -> None:
    """Find the documents that best match TEXT, encoded with the model and settings recorded in the collection.

    TEXT "-" reads the query from standard input (for queries longer than the shell allows as an argument)."""
    from longembed.retrieve import Retriever

    if text == "-":
        text = click.get_binary_stream("stdin").read().decode("utf-8", errors="replace")

    retriever = Retriever(store=store, collection=collection, qdrant_url=qdrant_url, device=device)
    try:
        results = retriever.search(text, k)
    finally:
        retriever.close()
    if as_json:
        click.echo(json.dumps(results, indent=2, ensure_ascii=False))
        return
    if not results:
        click.echo("no documents in the collection")
    for r in results:
        click.echo(f"{r['rank']:>3}  {r['score']:.4f}  {r['path']}  ({r['title']})")
        click.echo(f"     {r['snippet']}")


if __name__ == "__main__":  # pragma: no cover
    main()
