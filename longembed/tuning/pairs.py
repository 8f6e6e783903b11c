"""Training pairs for position tuning: (query, positive) from a JSON-lines file, a LongEmbed-format task, or
drawn from plain documents (inverse cloze task: a sentence is the query, its surrounding passage with that
sentence removed is the positive; Lee et al. 2019, ORQA §5)."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from longembed.errors import TuneError

SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
WORD = re.compile(r"\w+")
PASSAGE_WORDS = 120
"""Words of a positive passage drawn from a document (about 160 tokens, inside the default sample length)."""
MIN_QUERY_WORDS = 6


@dataclass(frozen=True)
class Pair:
    """One training example: a short query and a passage that answers it (both plain text)."""

    query: str
    positive: str


def pairs_from_jsonl(path: str | Path) -> list[Pair]:
    """Pairs from a JSON-lines file of ``{"query": str, "positive": str}`` objects.

    Raises:
        TuneError: the file cannot be read, or a line is not such an object (the message names the line).
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TuneError(f"cannot read pairs file {str(path)!r}: {exc}") from None
    pairs = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            pairs.append(Pair(str(item["query"]), str(item["positive"])))
        except (ValueError, KeyError, TypeError):
            raise TuneError(f"{path}:{number}: expected a JSON object with 'query' and 'positive'") from None
    return pairs


def _read_jsonl(path: Path) -> list[dict]:
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise TuneError(f"cannot read {path}: {exc}") from None


def pairs_from_longembed(task_dir: str | Path, passage_words: int = PASSAGE_WORDS) -> list[Pair]:
    """Pairs from a LongEmbed-format task folder (``corpus.jsonl``, ``queries.jsonl``, ``qrels.jsonl``).

    Documents are long, samples short: the positive of a query is the ``passage_words``-word window of its
    relevant document that shares the most distinct words with the query (windows overlap by half).

    Raises:
        TuneError: a file is missing or malformed.
    """
    root = Path(task_dir)
    for name in ("corpus.jsonl", "queries.jsonl", "qrels.jsonl"):
        if not (root / name).is_file():
            raise TuneError(f"{root} is not a LongEmbed-format task folder (no {name})")
    corpus = {d["doc_id"]: d["text"] for d in _read_jsonl(root / "corpus.jsonl")}
    queries = {q["qid"]: q["text"] for q in _read_jsonl(root / "queries.jsonl")}
    pairs = []
    for rel in _read_jsonl(root / "qrels.jsonl"):
        query, doc = queries.get(rel["qid"]), corpus.get(rel["doc_id"])
        if query and doc:
            pairs.append(Pair(query, best_window(query, doc, passage_words)))
    return pairs


def best_window(query: str, text: str, passage_words: int) -> str:
    """The ``passage_words``-word window of ``text`` (stride half a window) sharing most distinct words with
    ``query`` (lower-cased ``\\w+`` words); the first such window on ties."""
    words = text.split()
    wanted = {w.lower() for w in WORD.findall(query)}
    best, best_score = 0, -1
    for start in range(0, max(1, len(words) - passage_words // 2), max(1, passage_words // 2)):
        window = {w.lower() for w in WORD.findall(" ".join(words[start : start + passage_words]))}
        score = len(wanted & window)
        if score > best_score:
            best, best_score = start, score
    return " ".join(words[best : best + passage_words])


def pairs_from_texts(texts: Iterable[str], n_pairs: int, seed: int = 0, passage_words: int = PASSAGE_WORDS) -> list[Pair]:
    """``n_pairs`` inverse-cloze pairs drawn from ``texts`` (deterministic for a ``seed``).

    Each pair takes a run of consecutive sentences of about ``passage_words`` words from a random text, one of
    its sentences with at least :data:`MIN_QUERY_WORDS` words as the query, and the run without that sentence
    as the positive.

    Raises:
        TuneError: no text has a passage with a sentence long enough to be a query.
    """
    documents = [[s.strip() for s in SENTENCE_END.split(t) if s.strip()] for t in texts]
    documents = [d for d in documents if len(d) >= 2]
    rng = random.Random(seed)
    pairs: list[Pair] = []
    for _ in range(n_pairs * 20):
        if len(pairs) == n_pairs or not documents:
            break
        sentences = rng.choice(documents)
        start = rng.randrange(len(sentences))
        run, n_words = [], 0
        for sentence in sentences[start:]:
            if run and n_words + len(sentence.split()) > passage_words:
                break
            run.append(sentence)
            n_words += len(sentence.split())
        candidates = [i for i, s in enumerate(run) if len(s.split()) >= MIN_QUERY_WORDS]
        if len(run) < 2 or not candidates:
            continue
        pick = rng.choice(candidates)
        pairs.append(Pair(run[pick], " ".join(s for i, s in enumerate(run) if i != pick)))
    if not pairs:
        raise TuneError("no training pairs could be drawn: the documents have no passage with a query-length sentence")
    return pairs


def pairs_from_folder(folder: str | Path, n_pairs: int, seed: int = 0) -> list[Pair]:
    """Inverse-cloze pairs (:func:`pairs_from_texts`) from every document longembed can read under ``folder``.

    Raises:
        TuneError: nothing readable under ``folder``, or no pair could be drawn.
    """
    from longembed.errors import IngestError
    from longembed.ingest.reader import SourceDocument, read_documents

    try:
        texts = [d.text for d in read_documents(folder) if isinstance(d, SourceDocument)]
    except IngestError as exc:
        raise TuneError(str(exc)) from None
    return pairs_from_texts(texts, n_pairs, seed)


def collect_pairs(
    data: Iterable[str] = (), pairs_files: Iterable[str] = (), docs: Iterable[str] = (), doc_pairs: int = 5000,
    seed: int = 0,
) -> tuple[list[Pair], list[str]]:
    """All pairs of the given sources and a line describing each source (recorded in the tuned folder).

    Args:
        data: LongEmbed-format task folders (:func:`pairs_from_longembed`).
        pairs_files: JSON-lines files of ``{query, positive}`` (:func:`pairs_from_jsonl`).
        docs: folders of plain documents, ``doc_pairs`` inverse-cloze pairs drawn from each (:func:`pairs_from_folder`).

    Raises:
        TuneError: no source given, or a source is unreadable.
    """
    sources = [
        *((f, pairs_from_longembed, "LongEmbed task") for f in data),
        *((f, pairs_from_jsonl, "pairs file") for f in pairs_files),
        *((f, lambda d: pairs_from_folder(d, doc_pairs, seed), "inverse cloze") for f in docs),
    ]
    if not sources:
        raise TuneError("give training data: --data DIR, --pairs FILE or --docs FOLDER")
    pairs, described = [], []
    for source, read, kind in sources:
        found = read(source)
        pairs += found
        described.append(f"{source} ({kind}, {len(found)} pairs)")
    return pairs, described
