"""The ``longembed`` command line (click). Parses options and calls the modules; no logic of its own.

This module holds the :func:`main` group (the console script ``longembed.cli:main``) and registers the commands,
one module each: :mod:`~longembed.cli.ingest` (ingest, add-bm25), :mod:`~longembed.cli.query`,
:mod:`~longembed.cli.serve`, :mod:`~longembed.cli.bench`, :mod:`~longembed.cli.tune`, :mod:`~longembed.cli.models`,
:mod:`~longembed.cli.collections`. Shared options are in :mod:`~longembed.cli.options`, the ``error:`` line in
:mod:`~longembed.cli.errors`. Nothing outside this package imports it.
"""

from __future__ import annotations

import logging

import click

from longembed.cli import bench, collections, ingest, models, query, serve, tune
from longembed.cli.options import EXIT_CODES_HELP

# Heavy modules (torch via the encoder, qdrant-client via the store) are imported inside the commands, so
# that `longembed --help` and usage errors answer at once.


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES_HELP)
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.version_option(package_name="longembed")
def main(debug: bool) -> None:
    """Retrieval over long documents: one vector per whole document, from an embedding model whose
    context window is extended past its training length (LongEmbed, arXiv 2404.12096)."""
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s: %(message)s")
    if not debug:
        logging.getLogger("pypdf").setLevel(logging.ERROR)  # a damaged PDF is reported once, as a failed file


main.add_command(ingest.ingest)
main.add_command(ingest.add_bm25_command)
main.add_command(query.query)
main.add_command(serve.serve)
main.add_command(bench.bench)
main.add_command(tune.tune)
main.add_command(models.models)
main.add_command(collections.collections)
