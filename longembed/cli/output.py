"""How the command line prints what it answers, in each output format: one registry, :data:`FORMATS`, from a
format's name to the functions that render each kind of output in it (as transformers' ``ROPE_INIT_FUNCTIONS``
maps a rope type to its function).

Kinds of output: ``results`` (``longembed query TEXT``), ``answer`` (one query of ``longembed query --file``),
``collection`` (one row of ``longembed collections list``) and ``model`` (``longembed models inspect``). ``text``
is the default and has no flag; every other format is a flag ``--NAME`` on each command its :attr:`OutputFormat.help`
names (:func:`output_option`), so adding a format (``jsonl``, ``tsv``) is one entry here and touches no command.

Each function returns the whole text of one output without the final newline (:func:`show` prints it), so a
format decides its own line breaks. Light to import: the command line's ``--help`` loads it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from longembed.cli.query_batch import QueryLine
    from longembed.model_info import ModelInfo

DEFAULT_FORMAT = "text"
"""The format used when no format flag is given (it has no flag of its own)."""


@dataclass(frozen=True)
class OutputFormat:
    """The functions that render each kind of output in one format (``None``: the format does not offer it).

    Attributes:
        results: ``(results, mode, fusion, min_score) -> str``: the answer of ``query TEXT`` (``results`` as
            :func:`longembed.retrieve.results.document_result` makes them; ``mode`` and ``fusion`` those that
            answered; ``min_score`` the filter applied, or ``None``).
        answer: ``(query, results, mode, fusion, min_score, number) -> str``: the answer of one query of a file
            (``query`` a :class:`~longembed.cli.query_batch.QueryLine`, ``number`` how many were printed before).
        collection: ``(info) -> str``: one collection of ``collections list`` (``info`` from
            :meth:`~longembed.store.collections.DerivedOperations.collection_infos`).
        model: ``(info) -> str``: the :class:`~longembed.model_info.ModelInfo` of ``models inspect``.
        help: the ``--NAME`` flag's help on each command that offers it, by command name (``query``,
            ``collections list``, ``models inspect``); the default format has no flag.
    """

    results: Callable[[list[dict], str, str | None, float | None], str] | None = None
    answer: Callable[[QueryLine, list[dict], str, str | None, float | None, int], str] | None = None
    collection: Callable[[dict[str, Any]], str] | None = None
    model: Callable[[ModelInfo], str] | None = None
    help: Mapping[str, str] = field(default_factory=dict)


# -- text ----------------------------------------------------------------------------------------------------
def result_lines(results: list[dict], min_score: float | None = None) -> list[str]:
    """The text lines ``longembed query`` prints for ``results`` (rank, score, path, title, ``match`` and the cosine
    of the best match, then the snippet: the document's best passage, or for passage results the passage with its
    ``[start:end)`` character offsets). ``min_score``: the filter that was applied (named when nothing passed)."""
    if not results:
        if min_score is not None:
            return [f"no result matches at least --min-score {min_score:g}"]
        return ["no documents in the collection"]
    lines = []
    for r in results:
        lines.append(f"{r['rank']:>3}  {r['score']:.4f}  {r['path']}  ({r['title']})  match {r['match']:.3f}")
        if "snippet" in r:  # a document
            lines.append(f"     {r['snippet']}")
        else:  # a passage (unit="passage"): its offsets in the stored text, then its text
            lines.append(f"     [{r['start_char']}:{r['end_char']}] {' '.join(r['text'].split())}")
    return lines


def _text_results(results: list[dict], mode: str, fusion: str | None, min_score: float | None) -> str:
    return "\n".join(result_lines(results, min_score))


def _text_answer(
    query: QueryLine, results: list[dict], mode: str, fusion: str | None, min_score: float | None, number: int
) -> str:
    """A header line naming the query (its first 100 characters), then its results; a blank line before every
    answer but the first."""
    shown = " ".join(query.text.split())
    header = f"query {query.id}: {shown[:100]}{'…' if len(shown) > 100 else ''}"
    return "\n".join([*([""] if number else []), header, *result_lines(results, min_score)])


def passages_text(info: dict[str, Any]) -> str:
    """``passages=none``, or e.g. ``passages=naive passage_size=128 passage_sentences=1``."""
    if info["passages"] == "none":
        return "passages=none"
    return f"passages={info['passages']} passage_size={info['passage_size']} passage_sentences={info['passage_sentences']}"


def _text_collection(info: dict[str, Any]) -> str:
    return (f"{info['name']}\t{info['documents']} documents\t{info['model']}\t{info['extend']}"
            f"\tmax_length={info['max_length']}\t{passages_text(info)}")


def _text_model(info: ModelInfo) -> str:
    from longembed.model_info import format_model_info

    return format_model_info(info)


# -- json ----------------------------------------------------------------------------------------------------
def json_text(value: Any, indent: int | None = None) -> str:
    """``value`` as JSON, non-ASCII characters kept (the JSON every command prints)."""
    return json.dumps(value, indent=indent, ensure_ascii=False)


def _json_results(results: list[dict], mode: str, fusion: str | None, min_score: float | None) -> str:
    """A JSON list of the results, each naming the mode and fusion that answered."""
    return json_text([{**r, "mode": mode, "fusion": fusion} for r in results], indent=2)


def _json_answer(
    query: QueryLine, results: list[dict], mode: str, fusion: str | None, min_score: float | None, number: int
) -> str:
    """One JSON object on one line: ``id``, ``line``, ``query``, ``k``, ``mode``, ``fusion`` and ``results``."""
    return json_text({"id": query.id, "line": query.line, "query": query.text, "k": query.k, "mode": mode,
                      "fusion": fusion, "results": results})


FORMATS: dict[str, OutputFormat] = {
    DEFAULT_FORMAT: OutputFormat(
        results=_text_results, answer=_text_answer, collection=_text_collection, model=_text_model,
    ),
    "json": OutputFormat(
        results=_json_results, answer=_json_answer, collection=json_text,
        model=lambda info: json_text(info.to_dict(), indent=2),
        help={
            "query": "Print a JSON list of results; each names the mode and fusion that answered.",
            "collections list": "One JSON object per collection, one per line.",
            "models inspect": "Print a JSON object.",
        },
    ),
}
"""Output format name -> how it renders each kind of output; the command line's format flags derive from it."""


def output_option(command: str) -> Callable:
    """Click decorator: a flag ``--NAME`` for each format whose ``help`` names ``command``, all setting the one
    parameter ``output`` to that format's name (``None`` when none is given: :data:`DEFAULT_FORMAT`)."""

    def decorate(f: Callable) -> Callable:
        offered = [(name, fmt.help[command]) for name, fmt in FORMATS.items() if command in fmt.help]
        for name, text in reversed(offered):  # decorators apply bottom-up: the flags list in registry order
            f = click.option(f"--{name}", "output", flag_value=name, help=text)(f)
        return f

    return decorate


def show(kind: str, output: str | None, *args: Any) -> None:
    """Print the ``kind`` of output (``results``, ``answer``, ``collection`` or ``model``) of ``args`` in format
    ``output`` (``None``: :data:`DEFAULT_FORMAT`)."""
    render = getattr(FORMATS[output or DEFAULT_FORMAT], kind)
    click.echo(render(*args))
