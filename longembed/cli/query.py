"""``longembed query``: the best documents or passages for a query text (or a file of queries, see
:mod:`longembed.cli.query_batch`)."""

from __future__ import annotations

import click

from longembed.cli.errors import user_errors
from longembed.cli.options import encoder_options, store_options
from longembed.cli.output import output_option, show
from longembed.settings import FUSIONS, MODES, UNITS


@click.command()
@click.argument("text", required=False)
@click.option(
    "--file", "queries_file", metavar="FILE",
    help='Answer every query of FILE with one model load: one per line, or JSON lines {"query", "k"?, "id"?} '
    "(.jsonl); - reads JSON lines from standard input. Instead of TEXT.",
)
@click.option("-k", "k", type=int, default=5, show_default=True, help="Number of documents (or passages) to return.")
@store_options
@output_option("query")
@encoder_options
@click.option(
    "--mode",
    type=click.Choice(MODES),
    default=None,
    help="dense (the document vector), sparse (BM25 alone) or hybrid (both fused, and passage vectors where the "
    "collection has them). Default: hybrid on collections with bm25, dense on older ones.",
)
@click.option(
    "--fusion",
    type=click.Choice(FUSIONS),
    default=None,
    help="How hybrid fuses the lists: dbsf (Qdrant distribution-based score fusion; default on collections without "
    "passages), convex (default on collections with passages), rrf "
    "(Qdrant reciprocal rank fusion) or convex (0.3 x min-max dense + 0.7 x BM25 / the query's best attainable BM25).",
)
@click.option(
    "--unit",
    type=click.Choice(UNITS),
    default="document",
    show_default=True,
    help="document: the best documents, each with its best passage; passage: the best passages across documents "
    "(collections with passages).",
)
@click.option(
    "--min-score", "min_score", metavar="X", default=None,
    help="Keep only the results whose match (the cosine of the query with the best passage, else the document "
    "vector; -1 to 1) is at least X, so fewer than -k, possibly none. Default: no filter; every result shows its "
    "match. 0.4 separates off-topic queries on the dev data with the default model (README, 'No match').",
)
@user_errors
def query(
    text, queries_file, k, store, qdrant_url, collection, output, device, dtype, batch_tokens, mode, fusion, unit,
    min_score,
) -> None:
    """Find the documents that best match TEXT, encoded with the model and settings recorded in the collection.

    TEXT "-" reads the query from standard input (for queries longer than the shell allows as an argument).
    --file answers many queries per model load (--json: one line per query). While `longembed serve` holds the
    local store, the query goes to that server."""
    from longembed.cli.query_batch import (
        MAX_QUERY_LINE_BYTES, answer_queries, first_then_rest, is_regular_file, open_searcher, read_queries,
    )
    from longembed.errors import LongEmbedError
    from longembed.retrieve.results import check_min_score
    from longembed.settings import MAX_K

    if (text is None) == (queries_file is None):
        raise click.UsageError("give either a query TEXT or --file FILE")
    if not 1 <= k <= MAX_K:  # checked before the store opens and the model loads (~10 s)
        raise LongEmbedError(f"k must be between 1 and {MAX_K}, got {k}")
    min_score = check_min_score(min_score, "--min-score")
    if queries_file is not None:
        if is_regular_file(queries_file):
            for _ in read_queries(queries_file, k):  # every line checked before the model loads, none kept
                pass
            queries = read_queries(queries_file, k)
        else:  # standard input, a pipe or a device: answered as it arrives, its first query read now
            queries = first_then_rest(read_queries(queries_file, k))
        with open_searcher(store, collection, qdrant_url, device, dtype, batch_tokens, mode, fusion, unit) as searcher:
            answer_queries(queries, searcher, mode, fusion, output, unit, min_score)
        return
    if text == "-":
        raw = click.get_binary_stream("stdin").read(MAX_QUERY_LINE_BYTES + 1)
        if len(raw) > MAX_QUERY_LINE_BYTES:
            raise LongEmbedError(f"the query on standard input is longer than {MAX_QUERY_LINE_BYTES} bytes (1 MiB)")
        text = raw.decode("utf-8", errors="replace")
    if not text.strip():
        raise LongEmbedError("the query is empty")

    with open_searcher(store, collection, qdrant_url, device, dtype, batch_tokens, mode, fusion, unit) as searcher:
        results, answered_mode, answered_fusion = searcher.search(text, k, mode, fusion, unit, min_score)
    show("results", output, results, answered_mode, answered_fusion, min_score)
