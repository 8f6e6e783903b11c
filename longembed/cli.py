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

EXIT_USER_ERROR = 1


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
            click.echo(f"error: {exc}", err=True)
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


def extension_params(values: tuple[str, ...], attn_scale: bool | None, short_native: bool | None) -> dict:
    """``--extend-param`` pairs plus the flags that were given (``attn_scale``, ``short_native`` as bools)."""
    params: dict = dict(parse_extend_params(values))
    if attn_scale is not None:
        params["attn_scale"] = attn_scale
    if short_native:
        params["short_native"] = True
    return params


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.version_option(package_name="longembed")
def main(debug: bool) -> None:
    """Retrieval over long documents: one vector per whole document, from an embedding model whose
    context window is extended past its training length (LongEmbed, arXiv 2404.12096)."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s: %(message)s")


@main.command()
@click.argument("path", type=click.Path(path_type=str))
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
    "windows), gp (grouped positions), rp (recurrent positions, APE), pi (position interpolation), ntk "
    "(NTK-aware base, RoPE), yarn (RoPE), se (SelfExtend, RoPE).",
)
@click.option(
    "--extend-param",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter of the extension method (repeatable), e.g. lambda=10 for ntk, w=512 g=5 for se.",
)
@click.option(
    "--attn-scale/--no-attn-scale",
    default=None,
    help="Multiply attention logits by max(1, log L / log L_o) for inputs longer than L_o (LongEmbed "
    "Appendix B). Default off. Recorded in the collection as the method parameter attn_scale.",
)
@click.option(
    "--short-native",
    is_flag=True,
    default=None,
    help="RoPE pi/ntk/yarn: rescale only inputs longer than L_o, so queries and short documents are embedded "
    "exactly as by the original model. Recorded as the method parameter short_native.",
)
@click.option(
    "--max-length",
    type=int,
    default=DEFAULT_MAX_LENGTH,
    show_default=True,
    help="Longest document in tokens; longer ones are truncated with a warning (target length L_t for pi).",
)
@click.option(
    "--query-prefix",
    default=None,
    help="Text put before every query, e.g. 'Instruct: Given a question, retrieve passages that answer it\\n"
    "Query: ' for E5-Mistral / Qwen3-Embedding. Default: the model's own query prompt (sentence-transformers "
    "config), else none. Recorded in the collection.",
)
@click.option(
    "--document-prefix",
    default=None,
    help="Text put before every document. Default: the model's own document prompt, else none. Recorded in "
    "the collection.",
)
@store_options
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
@user_errors
def ingest(
    path, model, extend, extend_param, attn_scale, short_native, max_length, query_prefix, document_prefix, store,
    qdrant_url, collection, device, progress,
) -> None:
    """Embed every .txt .md .pdf .html file under PATH (a folder, searched recursively, or one file) as one
    whole document and store it in a Qdrant collection. Re-ingesting a file replaces its point."""
    from longembed.encoder import Encoder, with_model_prompts
    from longembed.ingest import ingest as run_ingest
    from longembed.store import Store

    settings = IndexSettings(
        model=model,
        extend=extend,
        extend_params=extension_params(extend_param, attn_scale, short_native),
        max_length=max_length,
        query_prefix=query_prefix,
        document_prefix=document_prefix,
    )
    settings = with_model_prompts(settings)  # the collection records the prefixes actually used
    with Store(path=store, url=qdrant_url) as db:
        if db.exists(collection):
            db.check_settings(collection, settings)
        encoder = Encoder(settings, device=device)
        if extend == "none":
            click.echo(
                f"note: --extend none truncates every document at the model's {encoder.original_length} tokens",
                err=True,
            )
        summary = run_ingest(path, settings, db, collection, encoder=encoder, progress=progress)
    for failure in summary.failed:
        click.echo(f"failed: {failure.path}: {failure.reason}", err=True)
    click.echo(summary.line())


@main.command()
@click.argument("text")
@click.option("-k", "k", type=int, default=5, show_default=True, help="Number of documents to return.")
@store_options
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of results.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu or cuda.")
@user_errors
def query(text, k, store, qdrant_url, collection, as_json, device) -> None:
    """Find the documents that best match TEXT, encoded with the model and settings recorded in the collection."""
    from longembed.retrieve import Retriever

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


@main.group()
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
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
@click.option("--device", default="cpu", show_default=True, help="auto, cpu or cuda.")
@user_errors
def inspect_command(model, max_length, as_json, device) -> None:
    """Print MODEL's family, position encoding, original length L_o, hidden size and embedding dimension,
    pooling, prefixes, and the extension methods that apply to it with their default parameters."""
    from longembed.model_info import format_model_info, inspect_model

    info = inspect_model(model, max_length=max_length, device=device)
    click.echo(json.dumps(info.to_dict(), indent=2, ensure_ascii=False) if as_json else format_model_info(info))


if __name__ == "__main__":  # pragma: no cover
    main()
