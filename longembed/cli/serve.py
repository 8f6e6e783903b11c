"""``longembed serve``: the HTTP server (:mod:`longembed.serve`); uvicorn and FastAPI load only when it runs."""

from __future__ import annotations

import sys

import click

from longembed.cli.errors import user_errors
from longembed.cli.options import EXIT_INTERRUPTED, encoder_options, index_options, index_settings, store_options
from longembed.ingest.limits import click_options as read_limit_options
from longembed.settings import RunOptions


@click.command()
@store_options
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (loopback by default).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port.")
@click.option(
    "--allow-host", multiple=True, metavar="NAME",
    help="Also accept requests whose Host header is NAME (repeatable); by default only loopback names "
    "(localhost, 127.0.0.1, ::1) and the --host address.",
)
@click.option(
    "--allow-origin", multiple=True, metavar="ORIGIN",
    help="Accept requests a web page at ORIGIN (e.g. http://localhost:3000) sends (repeatable); by default every "
    "request carrying an Origin header is refused.",
)
@click.option(
    "--token", default=None, envvar="LONGEMBED_TOKEN", show_envvar=True, metavar="TOKEN",
    help="Require 'Authorization: Bearer TOKEN' on every request; required when --host is not loopback.",
)
@click.option(
    "--allow-path", multiple=True, metavar="DIR",
    help='Let POST /ingest {"path"} read files under DIR (repeatable); off by default.',
)
@encoder_options
@index_options
@read_limit_options
@user_errors
def serve(
    store, qdrant_url, collection, host, port, allow_host, allow_origin, token, allow_path, device, dtype,
    batch_tokens, model, extend, extend_param, attn_scale, short_native, max_length, query_prefix, document_prefix,
    read_limits,
) -> None:
    """Serve search, embeddings and ingest over HTTP (FastAPI; API docs at /docs). --collection is the default
    collection of requests that name none. A local --store stays locked while the server runs: ingest through
    POST /ingest, or share a Qdrant server with --qdrant-url.

    --model, --extend, --extend-param, --max-length and the prefixes are the settings of collections that
    POST /ingest creates; existing collections always keep the settings they were built with."""
    from longembed.models.paths import resolve_model_path
    from longembed.serve.run import serve as run_server

    settings = index_settings(
        model, extend, extend_param, attn_scale, short_native, max_length, query_prefix, document_prefix
    )
    resolve_model_path(model)  # a wrong model path fails now, not at the first POST /ingest
    try:
        run_server(
            store=store, qdrant_url=qdrant_url, collection=collection, host=host, port=port,
            run=RunOptions(device, dtype, batch_tokens), new_collection_settings=settings, allow_hosts=allow_host,
            allow_origins=allow_origin, token=token, allow_paths=allow_path, read_limits=read_limits,
        )
    except KeyboardInterrupt:  # uvicorn re-raises the SIGINT it shut down on; click would print "Aborted!"
        sys.exit(EXIT_INTERRUPTED)
