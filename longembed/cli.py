"""The ``longembed`` command line (click). Parses options and calls the modules; no logic of its own."""

from __future__ import annotations

import dataclasses
import json
import logging
import sys
from pathlib import Path

import click

from longembed.bench.defaults import DEFAULT_METHODS, DEFAULT_TASKS
from longembed.bench.defaults import PAPER_LENGTHS as PAPER_LENGTHS_TUPLE
from longembed.cli_errors import EXIT_USER_ERROR, user_errors  # noqa: F401 (re-exported)
from longembed.errors import LongEmbedError
from longembed.ingest.limits import click_options as read_limit_options
from longembed.settings import (
    DEFAULT_BATCH_TOKENS,
    DEFAULT_BATCH_TOKENS_CUDA,
    DEFAULT_COLLECTION,
    DEFAULT_EXTEND,
    DEFAULT_MAX_LENGTH,
    DEFAULT_MODEL,
    DEFAULT_PASSAGE_SIZE,
    DEFAULT_PASSAGES,
    DEFAULT_STORE,
    EXTEND_METHODS,
    PASSAGE_MODES,
    IndexSettings,
)

# Heavy modules (torch via the encoder, qdrant-client via the store) are imported inside the commands, so
# that `longembed --help` and usage errors answer at once.

EXIT_OK = 0
"""Done. Files that could not be read are listed on stderr and counted in the summary; they do not fail a run."""
"""A user mistake or an unusable input, store or model (one ``error:`` line on stderr); nothing stored changed
except documents already written by the same run."""
EXIT_USAGE = 2
"""Click's usage error: an unknown option, a value of the wrong type, a missing argument."""
EXIT_INTERRUPTED = 130
"""``serve`` stopped by Ctrl-C (SIGINT) after a clean shutdown (128 + SIGINT, as shells report it)."""
EXIT_CODES_HELP = (
    "Exit codes: 0 done (unreadable files are listed, not fatal); 1 error (one line on stderr, a traceback "
    "with --debug; nothing stored is lost); 2 bad usage (unknown option, wrong value type)."
)


MAX_COLLECTION_BYTES = 255


def check_collection(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A usage error (exit 2) for a collection name that is empty, has a path separator, NUL or control
    character, is ``.`` / ``..``, or is over 255 bytes: it names a folder inside a local store."""
    problem = None
    if not value.strip():
        problem = "must not be empty"
    elif any(c in value for c in "/\\") or value in (".", ".."):
        problem = "must not contain '/' or '\\' or be '.' or '..'"
    elif not value.isprintable():
        problem = "must not contain control characters"
    elif len(value.encode("utf-8", "surrogateescape")) > MAX_COLLECTION_BYTES:
        problem = f"must be at most {MAX_COLLECTION_BYTES} bytes"
    if problem:
        raise click.BadParameter(f"{value[:80]!r} {problem}")
    return value


def store_options(func):
    """--store / --qdrant-url / --collection, shared by every command that opens a collection."""
    func = click.option(
        "--collection", default=DEFAULT_COLLECTION, show_default=True, callback=check_collection,
        help="Qdrant collection name.",
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


def encoder_options(func):
    """--device, --dtype and --batch-tokens: where and how the model runs (not recorded in the collection)."""
    func = click.option(
        "--batch-tokens",
        type=click.IntRange(min=1),
        default=None,
        metavar="N",
        help=f"Padded tokens per forward pass (batch size x longest input); a longer input runs alone. "
        f"Default: {DEFAULT_BATCH_TOKENS} on a CPU, {DEFAULT_BATCH_TOKENS_CUDA} on a GPU.",
    )(func)
    func = click.option(
        "--dtype",
        type=click.Choice(["auto", "float32", "bfloat16", "float16"]),
        default="auto",
        show_default=True,
        help="Model weight dtype; auto = bfloat16 on a CUDA GPU that supports it, else float32. Embeddings are "
        "stored as float32 either way.",
    )(func)
    return click.option(
        "--device", default="auto", show_default=True, callback=check_device, help="auto, cpu, cuda or cuda:N."
    )(func)


def check_device(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Refuse an unknown device, or cuda on a machine without a GPU, before anything is read or loaded."""
    if value == "auto":  # always usable; not importing torch here keeps a query sent to a server light
        return value
    from longembed.models.device import pick_device

    try:
        pick_device(value)
    except LongEmbedError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


INDEX_OPTIONS = [
    click.option(
        "--model",
        default=DEFAULT_MODEL,
        show_default=True,
        help="Hugging Face model directory or hub id. The default ships with longembed (no network needed).",
    ),
    click.option(
        "--extend",
        type=click.Choice(sorted(EXTEND_METHODS)),
        default=DEFAULT_EXTEND,
        show_default=True,
        help="Context-window extension method: none (truncate at the model's length), pcw (parallel context "
        "windows), gp (grouped positions), rp (recurrent positions, APE), pi (position interpolation), ntk "
        "(NTK-aware base, RoPE), yarn (RoPE), se (SelfExtend, RoPE).",
    ),
    click.option(
        "--extend-param",
        multiple=True,
        metavar="KEY=VALUE",
        help="A parameter of the extension method (repeatable), e.g. lambda=10 for ntk, w=512 g=5 for se.",
    ),
    click.option(
        "--attn-scale/--no-attn-scale",
        default=None,
        help="Multiply attention logits by max(1, log L / log L_o) for inputs longer than L_o (LongEmbed "
        "Appendix B). Default off. Recorded in the collection as the method parameter attn_scale.",
    ),
    click.option(
        "--short-native",
        is_flag=True,
        default=None,
        help="RoPE pi/ntk/yarn: rescale only inputs longer than L_o, so queries and short documents are embedded "
        "exactly as by the original model. Recorded as the method parameter short_native.",
    ),
    click.option(
        "--max-length",
        type=int,
        default=DEFAULT_MAX_LENGTH,
        show_default=True,
        help="Longest document in tokens; longer ones are truncated with a warning (target length L_t for pi).",
    ),
    click.option(
        "--query-prefix",
        default=None,
        help="Text put before every query, e.g. 'Instruct: Given a question, retrieve passages that answer it\\n"
        "Query: ' for E5-Mistral / Qwen3-Embedding. Default: the model's own query prompt (sentence-transformers "
        "config), else none. Recorded in the collection.",
    ),
    click.option(
        "--document-prefix",
        default=None,
        help="Text put before every document. Default: the model's own document prompt, else none. Recorded in "
        "the collection.",
    ),
]
"""click options shared by ``ingest`` and ``serve`` (for the collections that POST /ingest creates)."""


def index_options(func):
    """The settings a collection records: model, extension method and parameters, max length, prefixes."""
    for option in reversed(INDEX_OPTIONS):
        func = option(func)
    return func


def index_settings(
    model: str,
    extend: str,
    extend_param: tuple[str, ...],
    attn_scale: bool | None,
    short_native: bool | None,
    max_length: int,
    query_prefix: str | None,
    document_prefix: str | None,
) -> IndexSettings:
    """:class:`IndexSettings` from the :func:`index_options` values (validated by IndexSettings)."""
    return IndexSettings(
        model=model,
        extend=extend,
        extend_params=extension_params(extend_param, attn_scale, short_native),
        max_length=max_length,
        query_prefix=query_prefix,
        document_prefix=document_prefix,
    )


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
    type=click.Choice(["bm25", "none"]),
    default="bm25",
    show_default=True,
    help="A new collection also gets a BM25 sparse vector (bm25) for --mode sparse/hybrid queries, or not (none). "
    "An existing collection keeps what it has (add bm25 later with `longembed add-bm25`).",
)
@click.option(
    "--passages",
    type=click.Choice(list(PASSAGE_MODES)),
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
@user_errors
def ingest(
    path, model, extend, extend_param, attn_scale, short_native, max_length, query_prefix, document_prefix, store,
    qdrant_url, collection, device, dtype, batch_tokens, progress, prune, force, rehash, follow_links, verbose,
    sparse, read_limits, passages, passage_size,
) -> None:
    """Embed every .txt .md .pdf .html file under PATH (a folder, searched recursively, or one file) as one
    whole document and store it in a Qdrant collection.

    Unchanged documents (same text sha256 and settings) are skipped, changed ones replace their point, so an
    interrupted run can simply be started again. Hidden files and folders are skipped, symlinked folders are
    not followed, files with other extensions are counted and skipped."""
    from longembed.models.paths import resolve_model_path, with_model_prompts
    from longembed.ingest import ingest as run_ingest
    from longembed.ingest import scan
    from longembed.ingest.reader import shown_path as shown
    from longembed.store import Store

    if verbose:
        logging.getLogger("longembed.ingest").setLevel(logging.INFO)
    settings = index_settings(
        model, extend, extend_param, attn_scale, short_native, max_length, query_prefix, document_prefix
    )
    settings = dataclasses.replace(settings, passages=passages, passage_size=passage_size)
    listing = scan(path, follow_links=follow_links)  # a wrong path or model path fails before the store is opened or the model loaded
    resolve_model_path(model)
    click.echo(f"reading {listing.describe()}", err=True)
    settings = with_model_prompts(settings)  # the collection records the prefixes actually used
    with Store(path=store, url=qdrant_url) as db:
        summary = run_ingest(
            listing, settings, db, collection, progress=progress, prune=prune, force=force, device=device,
            dtype=dtype, batch_tokens=batch_tokens, rehash=rehash, sparse=sparse, limits=read_limits,
        )
    for failure in summary.failed:
        click.echo(f"failed: {shown(failure.path)}: {shown(failure.reason)}", err=True)
    for pruned in summary.pruned:
        click.echo(f"pruned: {shown(pruned)}", err=True)
    click.echo(summary.line())


@main.command()
@click.argument("text", required=False)
@click.option(
    "--file", "queries_file", metavar="FILE",
    help='Answer every query of FILE with one model load: one per line, or JSON lines {"query", "k"?, "id"?} '
    "(.jsonl); - reads JSON lines from standard input. Instead of TEXT.",
)
@click.option("-k", "k", type=int, default=5, show_default=True, help="Number of documents (or passages) to return.")
@store_options
@click.option(
    "--json", "as_json", is_flag=True,
    help="Print a JSON list of results; each names the mode and fusion that answered.",
)
@encoder_options
@click.option(
    "--mode",
    type=click.Choice(["dense", "sparse", "hybrid"]),
    default=None,
    help="dense (the document vector), sparse (BM25 alone) or hybrid (both fused, and chunk vectors where the "
    "collection has them). Default: hybrid on collections with bm25, dense on older ones.",
)
@click.option(
    "--fusion",
    type=click.Choice(["convex", "rrf", "dbsf"]),
    default=None,
    help="How hybrid fuses the lists: dbsf (Qdrant distribution-based score fusion; default on collections without "
    "passages), convex (default on collections with passages), rrf "
    "(Qdrant reciprocal rank fusion) or convex (0.3 x min-max dense + 0.7 x BM25 / the query's best attainable BM25).",
)
@click.option(
    "--unit",
    type=click.Choice(["document", "passage"]),
    default="document",
    show_default=True,
    help="document: the best documents, each with its best passage; passage: the best passages across documents "
    "(collections with passages).",
)
@user_errors
def query(
    text, queries_file, k, store, qdrant_url, collection, as_json, device, dtype, batch_tokens, mode, fusion, unit
) -> None:
    """Find the documents that best match TEXT, encoded with the model and settings recorded in the collection.

    TEXT "-" reads the query from standard input (for queries longer than the shell allows as an argument).
    --file answers many queries per model load (--json: one line per query). While `longembed serve` holds the
    local store, the query goes to that server."""
    from longembed.query_batch import answer_queries, open_searcher, read_queries

    if (text is None) == (queries_file is None):
        raise click.UsageError("give either a query TEXT or --file FILE")
    if queries_file is not None:
        queries = read_queries(queries_file, k)
        if queries_file != "-":
            queries = list(queries)  # every line checked before the model loads
        with open_searcher(store, collection, qdrant_url, device, dtype, batch_tokens) as searcher:
            answer_queries(queries, searcher, mode, fusion, as_json, unit)
        return
    if text == "-":
        text = click.get_binary_stream("stdin").read().decode("utf-8", errors="replace")

    with open_searcher(store, collection, qdrant_url, device, dtype, batch_tokens) as searcher:
        results, answered_mode, answered_fusion = searcher.search(text, k, mode, fusion, unit)
    if as_json:
        for r in results:
            r.update(mode=answered_mode, fusion=answered_fusion)
        click.echo(json.dumps(results, indent=2, ensure_ascii=False))
        return
    if not results:
        click.echo("no documents in the collection")
    for r in results:
        click.echo(f"{r['rank']:>3}  {r['score']:.4f}  {r['path']}  ({r['title']})")
        if unit == "passage":
            click.echo(f"     [{r['start_char']}:{r['end_char']}] {' '.join(r['text'].split())}")
        else:
            click.echo(f"     {r['snippet']}")


@main.command("add-bm25")
@store_options
@user_errors
def add_bm25_command(store, qdrant_url, collection) -> None:
    """Give a collection built without it the BM25 sparse vector, computed from the stored document texts
    (nothing is re-embedded), so that --mode sparse and hybrid work on it."""
    from longembed.sparse.index import add_bm25
    from longembed.store import Store

    with Store(path=store, url=qdrant_url, create=False) as db:
        n = add_bm25(db, collection)
    click.echo(f"added bm25 to {n} document{'' if n == 1 else 's'} of collection {collection!r}")


@main.command()
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
            store=store, qdrant_url=qdrant_url, collection=collection, host=host, port=port, device=device,
            dtype=dtype, batch_tokens=batch_tokens, new_collection_settings=settings, allow_hosts=allow_host,
            allow_origins=allow_origin, token=token, allow_paths=allow_path, read_limits=read_limits,
        )
    except KeyboardInterrupt:  # uvicorn re-raises the SIGINT it shut down on; click would print "Aborted!"
        sys.exit(EXIT_INTERRUPTED)


def comma_list(value: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; ``None`` stays ``None``."""
    if value is None:
        return None
    return [v.strip() for v in value.split(",") if v.strip()]


def comma_ints(value: str | None, option: str) -> list[int] | None:
    items = comma_list(value)
    if items is None:
        return None
    try:
        return [int(v) for v in items]
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers", param_hint=option) from None


BENCH_TASKS = ",".join(DEFAULT_TASKS)
BENCH_METHODS = ",".join(DEFAULT_METHODS)
PAPER_LENGTHS = ",".join(map(str, PAPER_LENGTHS_TUPLE))


@main.group(invoke_without_command=True)
@click.option("--tasks", default=BENCH_TASKS, show_default=True, help="Comma-separated LongEmbed tasks.")
@click.option(
    "--lengths",
    default=None,
    metavar="N,N,...",
    help=f"Context lengths (tokens) of the synthetic tasks to score, e.g. {PAPER_LENGTHS}. Default: all in the data.",
)
@click.option(
    "--methods",
    default=BENCH_METHODS,
    show_default=True,
    help="Comma-separated methods: extension methods (one vector per whole document), chunked-maxp (best "
    "L_o-token chunk, a Qdrant multivector) and chunked-mean (mean of the chunks, = pcw).",
)
@click.option("--model", default=DEFAULT_MODEL, show_default=True, help="Hugging Face model directory or hub id.")
@click.option("--max-length", type=int, default=DEFAULT_MAX_LENGTH, show_default=True, help="L_t in tokens.")
@click.option(
    "--data",
    default=None,
    metavar="DIR",
    help="LongEmbed-format directory (<task>/{corpus,queries,qrels}.jsonl). Default: the hub dataset "
    "dwzhu/LongEmbed (needs the `datasets` library and network).",
)
@click.option("--limit", type=int, default=None, metavar="N", help="Queries per task / context length (quick runs).")
@click.option(
    "--max-docs",
    type=int,
    default=None,
    metavar="N",
    help="Cut each task / length corpus to N documents, relevant ones kept (quick runs; retrieval gets easier).",
)
@click.option("--out", default="longembed-bench", show_default=True, metavar="DIR", help="Folder of the report.")
@click.option(
    "--cache",
    default=None,
    metavar="FILE",
    help="Embedding cache (SQLite). Default: DIR/embeddings-cache.sqlite of --out.",
)
@click.option("--keep-index", is_flag=True, help="Keep the Qdrant collections in --out/index (default: a temp store).")
@click.option("--compare", is_flag=True, help="Add and print a long-context vs chunked table with encode time.")
@click.option("--query-prefix", default=None, help="Text put before every query. Default: the model's query prompt.")
@click.option(
    "--document-prefix", default=None, help="Text put before every document. Default: the model's document prompt."
)
@encoder_options
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show progress and a line per run.")
@click.pass_context
@user_errors
def bench(
    ctx, tasks, lengths, methods, model, max_length, data, limit, max_docs, out, cache, keep_index, compare,
    query_prefix, document_prefix, device, dtype, batch_tokens, progress,
) -> None:
    """Run the LongEmbed tasks through the real index and write results.json, report.md and synthetic.png
    into --out. Every method's documents are ingested into their own Qdrant collection and every query goes
    through the retriever; embeddings are cached on disk, so a re-run computes only what is new.

    \b
    Example:
      longembed bench --tasks passkey,needle,qmsum --lengths 256,512,1024 \\
        --methods none,pi,chunked-maxp --data ./longembed-data --limit 20 --out ./bench-out
    """
    if ctx.invoked_subcommand is not None:
        return
    from longembed.bench.report import compare_table, headline, main_table, summarise
    from longembed.bench.runner import BenchConfig, run_bench

    config = BenchConfig(
        tasks=comma_list(tasks) or [],
        lengths=comma_ints(lengths, "--lengths"),
        methods=comma_list(methods) or [],
        model=model,
        max_length=max_length,
        data=data,
        limit=limit,
        max_docs=max_docs,
        out=out,
        cache=cache,
        keep_index=keep_index,
        device=device,
        dtype=dtype,
        batch_tokens=batch_tokens,
        query_prefix=query_prefix,
        document_prefix=document_prefix,
        progress=progress,
        compare=compare,
        command="longembed " + " ".join(sys.argv[1:]),
    )
    run = run_bench(config)
    summary = summarise(run)
    kinds = {name: d["kind"] for name, d in run.methods.items()}
    click.echo("\n".join(main_table(summary)))
    click.echo("\n".join(headline(summary)))
    if compare:
        click.echo("")
        click.echo("\n".join(compare_table(summary, kinds)))
    for item in run.missing:
        where = f"{item['task']}@{item['context_length']}" if "context_length" in item else item["task"]
        click.echo(f"skipped {where}: {item['reason']}", err=True)
    for item in run.skipped_methods:
        click.echo(f"skipped method {item['method']}: {item['reason']}", err=True)
    click.echo(f"report: {Path(out) / 'report.md'}")


@bench.command("make-passkey")
@click.option("--out", required=True, metavar="DIR", help="Writes DIR/passkey/{corpus,queries,qrels}.jsonl.")
@click.option("--lengths", default=PAPER_LENGTHS, show_default=True, help="Context lengths in tokens.")
@click.option("--per-length", type=int, default=50, show_default=True, help="Documents (= queries) per length.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@user_errors
def make_passkey_command(out, lengths, per_length, seed) -> None:
    """Generate a passkey retrieval task (LongEmbed §3.2): filler text of T × 0.75 words with one
    "<name>'s pass key is <5 digits>" line at a random sentence boundary; the query asks for the name's key."""
    from longembed.bench.synthetic import make_passkey

    folder = make_passkey(comma_ints(lengths, "--lengths") or [], per_length, seed).write(out)
    click.echo(f"wrote {folder}")


@bench.command("make-needle")
@click.option("--out", required=True, metavar="DIR", help="Writes DIR/needle/{corpus,queries,qrels}.jsonl.")
@click.option(
    "--haystack",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="Text the excerpts are cut from (the paper uses Paul Graham's essays).",
)
@click.option(
    "--needles",
    default=None,
    type=click.Path(exists=True, dir_okay=False),
    help='JSON list or JSON lines of {"needle": ..., "question": ...}.',
)
@click.option(
    "--paraphrased",
    is_flag=True,
    help="Use longembed's 40 paraphrased needles (questions share no content word with the needle, so BM25 "
    "cannot match them) instead of --needles; writes DIR/paraphrased_needle/.",
)
@click.option("--lengths", default=PAPER_LENGTHS, show_default=True, help="Context lengths in tokens.")
@click.option("--per-length", type=int, default=None, help="Documents per length (default: one per needle).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@user_errors
def make_needle_command(out, haystack, needles, paraphrased, lengths, per_length, seed) -> None:
    """Generate a needle-in-a-haystack retrieval task (LongEmbed §3.2): haystack excerpts of exactly T × 0.75
    words with one needle sentence at a random sentence boundary; the query is the needle's question."""
    from longembed.bench.synthetic import PARAPHRASED_NEEDLES, PARAPHRASED_TASK, make_needle, read_needles

    if paraphrased == (needles is not None):
        raise LongEmbedError("give exactly one of --needles FILE and --paraphrased")
    task = make_needle(
        Path(haystack).read_text(encoding="utf-8"),
        read_needles(PARAPHRASED_NEEDLES if paraphrased else needles),
        comma_ints(lengths, "--lengths") or [],
        per_length,
        seed,
        name=PARAPHRASED_TASK if paraphrased else "needle",
    )
    click.echo(f"wrote {task.write(out)}")


@main.command()
@click.option("--model", default=DEFAULT_MODEL, show_default=True, help="An APE model (BERT, RoBERTa) folder or hub id.")
@click.option("--max-length", type=click.IntRange(min=2), default=4096, show_default=True, help="L_t in tokens.")
@click.option(
    "--init",
    type=click.Choice(["pi", "rp"]),
    default="pi",
    show_default=True,
    help="Layout of the frozen original rows: pi = at position ids 0, s, 2s, ... (the rows between learn); "
    "rp = at 0 ... L_o-1 (rows L_o ... L_t-1 learn; a plain BERT that any library loads).",
)
@click.option("--data", multiple=True, metavar="DIR", help="A LongEmbed-format task folder (queries/qrels); repeatable.")
@click.option("--pairs", "pairs_files", multiple=True, metavar="FILE", help="JSON lines of {query, positive}; repeatable.")
@click.option("--docs", multiple=True, metavar="FOLDER", help="Plain documents to draw pairs from; repeatable.")
@click.option("--doc-pairs", type=click.IntRange(min=1), default=5000, show_default=True, help="Pairs drawn per --docs.")
@click.option("--steps", type=click.IntRange(min=1), default=1000, show_default=True, help="Optimizer steps.")
@click.option("--batch-size", type=click.IntRange(min=2), default=32, show_default=True, help="Pairs per step.")
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=5e-4, show_default=True, help="AdamW.")
@click.option("--warmup", type=click.IntRange(min=0), default=100, show_default=True, help="Warm-up steps.")
@click.option("--sample-length", type=click.IntRange(min=4), default=192, show_default=True, help="Tokens per positive.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the batches and position shifts.")
@click.option("--checkpoint-every", type=click.IntRange(min=0), default=100, show_default=True, help="Steps; 0: none.")
@click.option("--resume", is_flag=True, help="Continue from the latest checkpoint in --out.")
@click.option("--out", required=True, metavar="DIR", help="The tuned model folder to write.")
@click.option("--device", default="auto", show_default=True, callback=check_device, help="auto, cpu, cuda or cuda:N.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar with loss and steps/s.")
@user_errors
def tune(
    model, max_length, init, data, pairs_files, docs, doc_pairs, steps, batch_size, lr, warmup, sample_length, seed,
    checkpoint_every, resume, out, device, progress,
) -> None:
    """Train only the new position embeddings of an APE model (LongEmbed §4.2) for inputs of up to --max-length
    tokens. The original rows and every other weight stay frozen, so inputs of at most L_o tokens embed exactly as
    before. Writes a sentence-transformers folder that `longembed ingest --model DIR` loads with the `tuned`
    method (chosen automatically). On CUDA the forward pass runs in bfloat16 autocast."""
    from longembed.tuning.pairs import collect_pairs
    from longembed.tuning.trainer import TuneConfig
    from longembed.tuning.trainer import tune as run_tune

    pairs, described = collect_pairs(data, pairs_files, docs, doc_pairs, seed)
    config = TuneConfig(
        model=model, max_length=max_length, init=init, steps=steps, batch_size=batch_size, lr=lr, warmup=warmup,
        sample_length=sample_length, seed=seed, checkpoint_every=checkpoint_every,
    )
    record = run_tune(pairs, out, config, resume=resume, device=device, data=described, progress=progress)
    losses = record.training["losses"]
    click.echo(
        f"tuned ({record.layout} layout, L_o {record.original_length} -> L_t {record.max_length}, {len(pairs)} "
        f"pairs): loss {losses[0]:.3f} -> {losses[-1]:.3f} over {len(losses)} steps; wrote {out}"
    )


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


from longembed.collections_cli import collections  # noqa: E402 - its own module, registered here

main.add_command(collections)

if __name__ == "__main__":  # pragma: no cover
    main()
