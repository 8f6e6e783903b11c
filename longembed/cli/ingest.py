"""``longembed ingest`` (embed and store the documents under a path) and ``longembed add-bm25`` (give an existing
collection the BM25 sparse vector): the commands that write a collection."""

from __future__ import annotations

import dataclasses
import logging

import click

from longembed.cli.errors import user_errors
from longembed.errors import LongEmbedError
from longembed.cli.options import encoder_options, index_options, index_settings, store_options
from longembed.ingest.limits import click_options as read_limit_options
from longembed.settings import DEFAULT_PASSAGE_SIZE, DEFAULT_PASSAGES, PASSAGE_MODES, SPARSE_CHOICES, RunOptions


@click.command()
@click.argument("path", type=click.Path(path_type=str, readable=False))  # scan() explains unreadable paths
@index_options
@store_options
@encoder_options
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
@click.option(
    "--rehash", is_flag=True,
    help="Read and hash every file; by default a file whose size and modification time are those recorded with "
    "its point is skipped without being parsed.",
)
@click.option(
    "--follow-links", is_flag=True,
    help="Also read file symlinks whose target lies outside PATH (by default they are skipped and counted).",
)
@click.option(
    "--verbose", "-v", is_flag=True,
    help="A line per truncated document (and per unreadable file as it is met); by default one line counts them.",
)
@click.option(
    "--sparse",
    type=click.Choice(SPARSE_CHOICES),
    default="bm25",
    show_default=True,
    help="A new collection also gets a BM25 sparse vector (bm25) for --mode sparse/hybrid queries, or not (none). "
    "An existing collection keeps what it has (add bm25 later with `longembed add-bm25`).",
)
@click.option(
    "--passages",
    type=click.Choice(PASSAGE_MODES),
    default=DEFAULT_PASSAGES,
    show_default=True,
    help="Passage vectors stored with each document (searched as a MAX_SIM multivector; every hit names its best "
    "passage): naive (each passage embedded alone; measured best), late (mean of the whole-document pass over "
    "the passage), window-late (the same over L_o-token windows) or none. Recorded in the collection; an existing "
    "collection keeps its own when this is left at the default.",
)
@click.option(
    "--passage-size",
    type=click.IntRange(min=8),
    default=DEFAULT_PASSAGE_SIZE,
    show_default=True,
    help="Longest passage in tokens: a passage is one sentence, a longer sentence is cut into pieces of this size.",
)
@read_limit_options
@click.option(
    "--prepare-workers", default="auto", show_default=True, metavar="[auto|N]", callback=lambda c, p, v: workers(v),
    help="Processes that tokenize and cut passages ahead of the model. auto: none on a CPU (the model needs the "
    "cores), one per core but one (at most 8) on a GPU; 0: a thread of this process. The points are the same.",
)
@click.option(
    "--ray", "ray_address", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
    help="Read, tokenize and embed on a Ray cluster: ADDRESS of a running one (auto, HOST:PORT or "
    "ray://HOST:10001), or nothing (put --ray after PATH) to start a local Ray instance. Needs "
    "pip install 'longembed[ray]'.",
)
@click.option(
    "--ray-encoders", type=click.IntRange(min=1), default=None,
    help="Encoder actors on the Ray cluster (default: one per GPU, or one CPU actor when it has no GPU).",
)
@click.option("--shards", type=click.IntRange(min=1), default=None,
              help="A new collection on a Qdrant cluster (--qdrant-url) is split into this many shards.")
@click.option("--replication-factor", type=click.IntRange(min=1), default=None,
              help="A new collection on a Qdrant cluster keeps this many copies of each shard.")
@click.option("--on-disk", is_flag=True,
              help="A new collection on a Qdrant server keeps its vectors and payload on disk (memory-mapped).")
@user_errors
def ingest(
    path, model, extend, extend_param, attn_scale, short_native, max_length, query_prefix, document_prefix, store,
    qdrant_url, collection, device, dtype, batch_tokens, progress, prune, force, rehash, follow_links, verbose,
    sparse, read_limits, passages, passage_size, prepare_workers, ray_address, ray_encoders, shards,
    replication_factor, on_disk,
) -> None:
    """Embed every .txt .md .pdf .html file under PATH (a folder, searched recursively, or one file) as one
    whole document and store it in a Qdrant collection.

    Unchanged documents (same text sha256 and settings) are skipped, changed ones replace their point, so an
    interrupted run can simply be started again. Hidden files and folders are skipped, symlinked folders are
    not followed, files with other extensions are counted and skipped."""
    from longembed.models.paths import resolve_model_path, with_model_defaults
    from longembed.ingest import ingest as run_ingest
    from longembed.ingest import scan
    from longembed.ingest.reader import shown_path as shown
    from longembed.store import ClusterLayout, open_store

    if ray_encoders is not None and ray_address is None:
        raise LongEmbedError("--ray-encoders needs --ray")
    if verbose:
        logging.getLogger("longembed.ingest").setLevel(logging.INFO)
    settings = index_settings(
        model, extend, extend_param, attn_scale, short_native, max_length, query_prefix, document_prefix
    )
    settings = dataclasses.replace(settings, passages=passages, passage_size=passage_size)
    listing = scan(path, follow_links=follow_links)  # a wrong path or model path fails before the store is opened or the model loaded
    model_path = resolve_model_path(model)
    click.echo(f"reading {listing.describe()}", err=True)
    settings = with_model_defaults(settings, model_path=model_path)  # the collection records the prefixes used
    options = dict(progress=progress, prune=prune, force=force, run=RunOptions(device, dtype, batch_tokens),
                   rehash=rehash, sparse=sparse, limits=read_limits, model_path=model_path,
                   prepare_workers=prepare_workers)
    if ray_address is not None:
        from longembed.ingest.distributed import RayOptions
        from longembed.ingest.ray_tasks import import_ray

        import_ray()  # without Ray: one line, before the store is opened
        options["ray"] = RayOptions(address=ray_address or None, encoders=ray_encoders)
    layout = ClusterLayout(shards, replication_factor, on_disk)
    with open_store(store, qdrant_url, layout=layout) as db:
        if not layout.is_default and db.exists(collection):
            click.echo(f"note: collection {collection!r} exists and keeps its layout ({layout.describe()} apply to "
                       "a new collection)", err=True)
        summary = run_ingest(listing, settings, db, collection, **options)
    for failure in summary.failed:
        click.echo(f"failed: {shown(failure.path)}: {shown(failure.reason)}", err=True)
    for pruned in summary.pruned:
        click.echo(f"pruned: {shown(pruned)}", err=True)
    click.echo(summary.line())


@click.command("add-bm25")
@store_options
@user_errors
def add_bm25_command(store, qdrant_url, collection) -> None:
    """Give a collection built without it the BM25 sparse vector, computed from the stored document texts
    (nothing is re-embedded), so that --mode sparse and hybrid work on it."""
    from longembed.sparse.index import add_bm25
    from longembed.store import open_store

    with open_store(store, qdrant_url, create=False) as db:
        n = add_bm25(db, collection)
    click.echo(f"added bm25 to {n} document{'' if n == 1 else 's'} of collection {collection!r}")


def workers(value: str) -> int | None:
    """``--prepare-workers``: ``auto`` → ``None``, else a whole number ≥ 0."""
    if value == "auto":
        return None
    if not value.isdecimal():  # "²" is a digit that int() refuses
        raise click.BadParameter(f"auto or a whole number of 0 or more, got {value!r}")
    return int(value)
