"""``longembed bench`` (the LongEmbed tasks through the real index) and its ``make-passkey`` / ``make-needle``
subcommands (the synthetic tasks)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from longembed.bench.defaults import DEFAULT_METHODS, DEFAULT_TASKS
from longembed.bench.tasks import PAPER_LENGTHS
from longembed.cli.errors import user_errors
from longembed.cli.options import encoder_options
from longembed.errors import LongEmbedError
from longembed.settings import DEFAULT_MAX_LENGTH, DEFAULT_MODEL


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
LENGTHS_TEXT = ",".join(map(str, PAPER_LENGTHS))
"""The paper's context lengths as ``--lengths`` takes them (comma-separated tokens)."""


@click.group(invoke_without_command=True)
@click.option("--tasks", default=BENCH_TASKS, show_default=True, help="Comma-separated LongEmbed tasks.")
@click.option(
    "--lengths",
    default=None,
    metavar="N,N,...",
    help=f"Context lengths (tokens) of the synthetic tasks to score, e.g. {LENGTHS_TEXT}. Default: all in the data.",
)
@click.option(
    "--methods",
    default=BENCH_METHODS,
    show_default=True,
    help="Comma-separated methods: extension methods (one vector per whole document), chunked-maxp (best "
    "L_o-token chunk, a Qdrant multivector), chunked-mean (mean of the chunks, = pcw), naive-maxp / late-maxp / "
    "window-late-maxp[:EXTENDER] (best sentence passage, encoded alone / pooled late from EXTENDER's pass, default "
    "pi), bm25, and METHOD+bm25[:FUSION] (hybrid).",
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
    from longembed.bench.report_markdown import compare_table, headline, main_table
    from longembed.bench.runner import BenchConfig, run_bench
    from longembed.bench.summary import summarise

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
@click.option("--lengths", default=LENGTHS_TEXT, show_default=True, help="Context lengths in tokens.")
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
@click.option("--lengths", default=LENGTHS_TEXT, show_default=True, help="Context lengths in tokens.")
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
