"""``longembed query --file``: many queries answered with one model load, and the choice between the local store
and the ``longembed serve`` that holds it.

Query files (see :func:`read_queries`):

- ``QUERIES.txt`` (any name not ending in ``.jsonl``/``.ndjson``/``.json``): one query per line, blank lines
  skipped;
- ``QUERIES.jsonl`` and standard input (``--file -``): JSON lines ``{"query": "...", "k": 3, "id": "q1"}``
  (``k`` and ``id`` optional; ``k`` defaults to ``-k``, ``id`` to the line number).

A regular file is checked whole before the store is opened or the model loaded (a first pass that keeps no line),
then read again to answer; standard input and other non-regular files (pipes, devices) are answered line by line
as they arrive (each answer is flushed), their first query read before the model loads. A bad line stops the run
with one ``error:`` line naming the line number (exit 1). No line longer than :data:`MAX_QUERY_LINE_BYTES` is ever
held in memory: it is refused as soon as that many bytes are read without a line end.
"""

from __future__ import annotations

import itertools
import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import click

from longembed.cli.output import show
from longembed.errors import LongEmbedError
from longembed.settings import MAX_K, RunOptions

JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
MAX_QUERY_LINE_BYTES = 1 << 20
"""Longest line of a query file, and longest query on standard input (``query -``), in bytes (1 MiB): a 1 MB query
is still answered (from its first tokens, as any long query); a longer line is refused before it is held whole."""
QUERY_KEYS = ("query", "k", "id")


class QueryFileError(LongEmbedError):
    """A query file or line that cannot be used (the message names the file and the line number)."""


@dataclass(frozen=True)
class QueryLine:
    """One query of a file: its 1-based ``line`` number, ``text``, ``k`` and ``id`` (the line number when not given)."""

    line: int
    text: str
    k: int
    id: str | int


def read_queries(source: str, default_k: int, stdin: IO[bytes] | None = None) -> Iterator[QueryLine]:
    """The queries of ``source`` (a file path, or ``-`` for JSON lines on ``stdin``), in order, lazily.

    Raises:
        QueryFileError: the file cannot be read, a line is longer than :data:`MAX_QUERY_LINE_BYTES` or not valid
            UTF-8, a JSON line is not an object with a non-empty string ``query``, a whole ``k`` in 1..1000 and a
            string or whole-number ``id`` (and no other key), or there is no query at all.
    """
    if source == "-":
        yield from _parse("standard input", stdin or sys.stdin.buffer, True, default_k)
        return
    try:
        with Path(source).open("rb") as handle:
            yield from _parse(source, handle, Path(source).suffix.lower() in JSON_SUFFIXES, default_k)
    except OSError as exc:
        raise QueryFileError(f"cannot read the query file {source!r}: {exc.strerror or exc}") from None


def is_regular_file(source: str) -> bool:
    """Whether ``source`` names a regular file (which can be read twice: checked whole, then answered)."""
    return source != "-" and Path(source).is_file()


def bounded_lines(name: str, handle: IO[bytes]) -> Iterator[bytes]:
    """The lines of ``handle``, each read with at most :data:`MAX_QUERY_LINE_BYTES` + 1 bytes in memory.

    Raises:
        QueryFileError: a line is longer than the limit (named by its number; the rest is not read).
    """
    for number in itertools.count(1):
        line = handle.readline(MAX_QUERY_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_QUERY_LINE_BYTES and not line.endswith(b"\n"):
            raise QueryFileError(
                f"{name} line {number}: longer than {MAX_QUERY_LINE_BYTES} bytes (1 MiB, the longest query "
                "line); nothing was answered from this line on"
            )
        yield line


def _parse(name: str, handle: IO[bytes], as_json: bool, default_k: int) -> Iterator[QueryLine]:
    found = False
    for number, raw in enumerate(bounded_lines(name, handle), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise QueryFileError(f"{name} line {number}: not valid UTF-8 (byte {exc.start + 1})") from None
        if number == 1:
            line = line.removeprefix("\ufeff")
        if not line.strip():
            continue
        found = True
        yield _json_query(name, number, line, default_k) if as_json else QueryLine(number, line.strip(), default_k, number)
    if not found:
        kind = 'JSON lines {"query": ...}' if as_json else "lines"
        raise QueryFileError(f"no query in {name} (expected {kind}, one query per line)")


def _json_query(name: str, number: int, line: str, default_k: int) -> QueryLine:
    where = f"{name} line {number}"
    try:
        item = json.loads(line)
    except ValueError as exc:
        reason = getattr(exc, "msg", str(exc))
        raise QueryFileError(f"{where}: not valid JSON ({reason})") from None
    if not isinstance(item, dict):
        raise QueryFileError(f'{where}: expected a JSON object like {{"query": "...", "k": 5, "id": "q1"}}')
    unknown = sorted(set(item) - set(QUERY_KEYS))
    if unknown:
        raise QueryFileError(f"{where}: unknown key {unknown[0]!r} (a line has query, and optionally k and id)")
    text = item.get("query")
    if not isinstance(text, str) or not text.strip():
        raise QueryFileError(f'{where}: "query" must be a non-empty string')
    k = item.get("k", default_k)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise QueryFileError(f'{where}: "k" must be a whole number from 1 to {MAX_K}, got {json.dumps(k)[:40]}')
    qid = item.get("id", number)
    if isinstance(qid, bool) or not isinstance(qid, (str, int)):
        raise QueryFileError(f'{where}: "id" must be a string or a whole number, got {json.dumps(qid)[:40]}')
    return QueryLine(number, text, k, qid)


class LocalSearcher:
    """Searches through a :class:`~longembed.retrieve.Retriever` (the model is loaded once, here)."""

    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever

    def search(
        self, text: str, k: int, mode: str | None, fusion: str | None, unit: str = "document",
        min_score: float | None = None,
    ) -> tuple[list[dict], str, str | None]:
        mode, fusion = self.retriever.resolve(mode, fusion)
        return self.retriever.search(text, k, mode=mode, fusion=fusion, unit=unit, min_score=min_score), mode, fusion


class RemoteSearcher:
    """Searches through ``POST /search`` of the server holding the store."""

    def __init__(self, client: Any, collection: str) -> None:
        self.client = client
        self.collection = collection

    def search(
        self, text: str, k: int, mode: str | None, fusion: str | None, unit: str = "document",
        min_score: float | None = None,
    ) -> tuple[list[dict], str, str | None]:
        return self.client.search(text, k, collection=self.collection, mode=mode, fusion=fusion, unit=unit,
                                  min_score=min_score)


def first_then_rest(queries: Iterator[QueryLine]) -> Iterator[QueryLine]:
    """``queries`` with the first one read now (so an empty input or a bad first line fails before the model
    loads); the rest lazily."""
    first = next(queries)  # raises QueryFileError when there is no query at all
    return itertools.chain([first], queries)


@contextmanager
def open_searcher(
    store: str, collection: str, qdrant_url: str | None, device: str, dtype: str, batch_tokens: int | None,
    mode: str | None = None, fusion: str | None = None, unit: str = "document",
) -> Iterator[LocalSearcher | RemoteSearcher]:
    """The server holding the local ``store`` when one wrote its address there and answers (said on stderr; the
    encoder options then do not apply), else the store itself with the collection's model loaded once, after
    ``mode``, ``fusion`` and ``unit`` are checked against the collection (a mode or unit it cannot answer fails
    before the model loads).

    Raises:
        StoreError, CollectionNotFound, ModelLoadError: the local store or collection cannot be used.
        ServerError: the server holding the store needs a token that is not set.
    """
    if qdrant_url is None:
        from longembed.serve.address import running_server

        client = running_server(store)
        if client is not None:
            click.echo(
                f"the store {store} is held by `longembed serve` (pid {client.address.pid}); asking it at "
                f"{client.address.url} (--device, --dtype and --batch-tokens are the server's)",
                err=True,
            )
            yield RemoteSearcher(client, collection)
            return
    from longembed.retrieve import Retriever

    retriever = Retriever(
        store=store, collection=collection, qdrant_url=qdrant_url, run=RunOptions(device, dtype, batch_tokens),
        load_model=False,
    )
    try:
        retriever.check(mode, fusion, unit)
        retriever.load_model()
        yield LocalSearcher(retriever)
    finally:
        retriever.close()


def answer_queries(
    queries: Iterable[QueryLine], searcher: LocalSearcher | RemoteSearcher, mode: str | None, fusion: str | None,
    output: str | None = None, unit: str = "document", min_score: float | None = None,
) -> int:
    """Answer each query in order and print its answer as format ``output`` renders one (:mod:`longembed.cli.output`:
    ``json``, one JSON object per line; the default, a header line and the ranked results). Returns the number of
    queries answered. ``min_score``: keep only results whose ``match`` is at least this."""
    answered = 0
    for q in queries:
        results, used_mode, used_fusion = searcher.search(q.text, q.k, mode, fusion, unit, min_score)
        show("answer", output, q, results, used_mode, used_fusion, min_score, answered)
        answered += 1
    return answered
