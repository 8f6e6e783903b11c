"""``longembed tune``: train the new position embeddings of an APE model (:mod:`longembed.tuning`)."""

from __future__ import annotations

import click

from longembed.cli.errors import user_errors
from longembed.cli.options import check_device
from longembed.settings import DEFAULT_MODEL


@click.command()
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
@click.option(
    "--out", required=True, metavar="DIR",
    help="The tuned model folder to write: new or empty; a tuned folder longembed wrote needs --resume or --overwrite.",
)
@click.option("--overwrite", is_flag=True, help="Replace the tuned model in --out (its files are deleted when training starts).")
@click.option("--device", default="auto", show_default=True, callback=check_device, help="auto, cpu, cuda or cuda:N.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Progress bar with loss and steps/s.")
@user_errors
def tune(
    model, max_length, init, data, pairs_files, docs, doc_pairs, steps, batch_size, lr, warmup, sample_length, seed,
    checkpoint_every, resume, out, overwrite, device, progress,
) -> None:
    """Train only the new position embeddings of an APE model (LongEmbed §4.2) for inputs of up to --max-length
    tokens. The original rows and every other weight stay frozen, so inputs of at most L_o tokens embed exactly as
    before. Writes a sentence-transformers folder that `longembed ingest --model DIR` loads with the `tuned`
    method (chosen automatically). On CUDA the forward pass runs in bfloat16 autocast."""
    from longembed.tuning.out_folder import check_out, clear_out
    from longembed.tuning.pairs import collect_pairs
    from longembed.tuning.trainer import TuneConfig
    from longembed.tuning.trainer import tune as run_tune

    check_out(out, resume, overwrite)  # before any data is read or anything trained
    pairs, described = collect_pairs(data, pairs_files, docs, doc_pairs, seed)
    config = TuneConfig(
        model=model, max_length=max_length, init=init, steps=steps, batch_size=batch_size, lr=lr, warmup=warmup,
        sample_length=sample_length, seed=seed, checkpoint_every=checkpoint_every,
    )
    if overwrite:
        clear_out(out)
    record = run_tune(pairs, out, config, resume=resume, device=device, data=described, progress=progress)
    losses = record.training["losses"]
    click.echo(
        f"tuned ({record.layout} layout, L_o {record.original_length} -> L_t {record.max_length}, {len(pairs)} "
        f"pairs): loss {losses[0]:.3f} -> {losses[-1]:.3f} over {len(losses)} steps; wrote {out}"
    )
