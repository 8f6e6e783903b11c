"""Generators of the synthetic LongEmbed tasks, passkey and needle retrieval (LongEmbed §3.2).

The paper's recipe: a document of T tokens has T × 0.75 words; passkey documents are the filler
"The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again." repeated, with one
line naming a person and a 5-digit pass key inserted at a random sentence boundary, and the query asks for that
person's pass key; needle documents are excerpts of a haystack text (the paper uses Paul Graham's essays) with
one needle sentence inserted at a random sentence boundary, and the query is the needle's question. Every row
carries its ``context_length`` T; a fixed seed makes a set reproducible.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from longembed.errors import BenchError

WORDS_PER_TOKEN = 0.75
"""Words per token used to size documents (LongEmbed §3.2: a T-token document has T × 0.75 words)."""

FILLER = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
FILLER_SENTENCES = tuple(s.strip() + "." for s in FILLER.split(".") if s.strip())

FIRST_NAMES = (
    "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret Mark Sandra "
    "Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy "
    "George Melissa Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia"
).split()
SURNAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera "
    "Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes"
).split()


MIN_LENGTH = 32
"""Shortest context length (tokens) a generator accepts: 24 words leave room for the pass-key line or a needle."""


def target_words(context_length: int) -> int:
    """Words in a document of ``context_length`` tokens: ⌊T × 0.75⌋."""
    return int(context_length * WORDS_PER_TOKEN)


@dataclass
class SyntheticTask:
    """A generated task in the LongEmbed row format (every row carries ``context_length``)."""

    name: str
    corpus: list[dict[str, Any]] = field(default_factory=list)
    queries: list[dict[str, Any]] = field(default_factory=list)
    qrels: list[dict[str, Any]] = field(default_factory=list)
    recipe: dict[str, Any] = field(default_factory=dict)
    needles: list[dict[str, str]] = field(default_factory=list)
    """The needles a needle task inserted (written as ``needles.jsonl``, read back for passage localisation)."""

    def add(self, context_length: int, index: int, text: str, query: str) -> None:
        doc_id, qid = f"{self.name}_{context_length}_{index:03d}", f"{self.name}_q_{context_length}_{index:03d}"
        self.corpus.append({"doc_id": doc_id, "text": text, "context_length": context_length})
        self.queries.append({"qid": qid, "text": query, "context_length": context_length})
        self.qrels.append({"qid": qid, "doc_id": doc_id, "context_length": context_length})

    def write(self, out_dir: str | Path) -> Path:
        """Write ``<out_dir>/<name>/{corpus,queries,qrels}.jsonl`` (and ``needles.jsonl`` for a needle task) and
        ``recipe.json``; returns the task folder."""
        folder = Path(out_dir) / self.name
        folder.mkdir(parents=True, exist_ok=True)
        files = (("corpus", self.corpus), ("queries", self.queries), ("qrels", self.qrels), ("needles", self.needles))
        for file, rows in files if self.needles else files[:3]:
            with (folder / f"{file}.jsonl").open("w", encoding="utf-8") as f:
                for row in rows:
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
        (folder / "recipe.json").write_text(json.dumps(self.recipe, indent=2) + "\n")
        return folder


def _check_lengths(lengths: Sequence[int], per_length: int) -> None:
    if not lengths:
        raise BenchError("give at least one context length")
    if any(t < MIN_LENGTH for t in lengths):
        raise BenchError(f"context lengths must be at least {MIN_LENGTH} tokens, got {sorted(lengths)}")
    if per_length < 1:
        raise BenchError(f"documents per length must be at least 1, got {per_length}")


def passkey_line(name: str, key: str) -> str:
    """The inserted line, and what the query asks for: ``<name>'s pass key is <key>. Remember it. ...``."""
    return f"{name}'s pass key is {key}. Remember it. {key} is the pass key for {name}."


def make_passkey(lengths: Sequence[int], per_length: int = 50, seed: int = 0) -> SyntheticTask:
    """Passkey retrieval documents and queries (LongEmbed §3.2).

    Each document of T tokens holds whole filler sentences, as many as fit in ⌊0.75·T⌋ words together with the
    pass-key line (so it is at most 3 words short), and the line at a random sentence boundary. Names (first
    name + surname) and 5-digit keys are unique across the whole task. Query: ``what is the pass key for <name>?``.

    Raises:
        BenchError: no lengths, a length under 32 tokens, or more documents than there are unique names.
    """
    _check_lengths(lengths, per_length)
    total = per_length * len(lengths)
    if total > len(FIRST_NAMES) * len(SURNAMES):
        raise BenchError(f"at most {len(FIRST_NAMES) * len(SURNAMES)} passkey documents in one task, asked {total}")
    rng = random.Random(seed)
    names = [f"{first} {last}" for first, last in rng.sample([(f, s) for f in FIRST_NAMES for s in SURNAMES], total)]
    keys = [str(k) for k in rng.sample(range(10000, 100000), total)]
    task = SyntheticTask(
        "passkey",
        recipe={"generator": "passkey", "lengths": list(lengths), "per_length": per_length, "seed": seed,
                "words_per_token": WORDS_PER_TOKEN, "filler": FILLER},
    )
    n = 0
    for length in lengths:
        for index in range(per_length):
            line = passkey_line(names[n], keys[n])
            budget = target_words(length) - len(line.split())
            sentences: list[str] = []
            words = 0
            while True:
                nxt = FILLER_SENTENCES[len(sentences) % len(FILLER_SENTENCES)]
                if words + len(nxt.split()) > budget:
                    break
                sentences.append(nxt)
                words += len(nxt.split())
            at = rng.randint(0, len(sentences))
            text = " ".join([*sentences[:at], line, *sentences[at:]])
            task.add(length, index, text, f"what is the pass key for {names[n]}?")
            n += 1
    return task


def read_needles(path: str | Path) -> list[dict[str, str]]:
    """Needles from a JSON list or a JSON-lines file of ``{"needle": str, "question": str, ...}`` objects.

    Raises:
        BenchError: the file is missing, not JSON, or an entry lacks ``needle`` or ``question``.
    """
    path = Path(path)
    if not path.is_file():
        raise BenchError(f"needles file {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if text.lstrip().startswith("["):
            data = json.loads(text)
        else:
            data = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise BenchError(f"{path}: not JSON ({exc.msg})") from None
    for i, item in enumerate(data):
        if not isinstance(item, dict) or not item.get("needle") or not item.get("question"):
            raise BenchError(f"{path}: entry {i} needs a 'needle' and a 'question'")
    return data


PARAPHRASED_NEEDLES = Path(__file__).parent / "data" / "paraphrased_needles.jsonl"
"""40 needles whose question paraphrases the needle sentence with no shared content word: after the ``bm25``
analyzer (lower case, Lucene English stop words, Snowball stems; :mod:`longembed.sparse.analyzer`) the needle's
terms and the question's terms are disjoint, so BM25 cannot match a question to its needle. Written for
longembed (facts of everyday scenes, no names), fields as the needle task's ``needles.jsonl``: ``needle``,
``question``, ``answer``."""
PARAPHRASED_TASK = "paraphrased_needle"

SENTENCE_END = (".", "!", "?")


def make_needle(
    haystack: str,
    needles: Sequence[dict[str, str]],
    lengths: Sequence[int],
    per_length: int | None = None,
    seed: int = 0,
    name: str = "needle",
) -> SyntheticTask:
    """Needle-in-a-haystack documents and queries (LongEmbed §3.2).

    For every length T and needle i (the first ``per_length`` needles; all by default): pick a random start
    word of ``haystack``, move it forward to the next sentence start (at most 60 words), take
    ⌊0.75·T⌋ − (needle words) consecutive haystack words (wrapping around at the end, original spacing kept),
    and insert the needle at a random sentence boundary (the start, or after a word ending in ``.``, ``!``
    or ``?``). Each document has exactly ⌊0.75·T⌋ words. The query is the needle's question. ``name`` names
    the task (its folder and row ids), e.g. ``paraphrased_needle`` for :data:`PARAPHRASED_NEEDLES`.

    Raises:
        BenchError: empty haystack, no needles, more documents per length than needles, or a length too short
            for a needle.
    """
    tokens = re.findall(r"\S+\s*", haystack)
    if not tokens:
        raise BenchError("the haystack has no text")
    if not needles:
        raise BenchError("no needles given")
    per_length = len(needles) if per_length is None else per_length
    _check_lengths(lengths, per_length)
    if per_length > len(needles):
        raise BenchError(f"{per_length} documents per length need as many needles; there are {len(needles)}")
    rng = random.Random(seed)
    task = SyntheticTask(
        name,
        recipe={"generator": name, "lengths": list(lengths), "per_length": per_length, "seed": seed,
                "words_per_token": WORDS_PER_TOKEN, "haystack_words": len(tokens), "needles": len(needles)},
        needles=[dict(n) for n in needles[:per_length]],
    )
    for length in lengths:
        for index in range(per_length):
            needle = needles[index]["needle"].strip()
            n_words = target_words(length) - len(needle.split())
            if n_words < 0:
                raise BenchError(f"a {length}-token document is too short for the needle {needle!r}")
            start = rng.randrange(len(tokens))
            for step in range(60):
                previous = tokens[(start - 1) % len(tokens)].rstrip()
                if previous.endswith(SENTENCE_END):
                    break
                start = (start + 1) % len(tokens)
            excerpt = [tokens[(start + j) % len(tokens)] for j in range(n_words)]
            excerpt = [t if t[-1].isspace() else t + " " for t in excerpt]
            boundaries = [0] + [j + 1 for j, t in enumerate(excerpt) if t.rstrip().endswith(SENTENCE_END)]
            at = rng.choice(boundaries)
            text = "".join([*excerpt[:at], needle + " ", *excerpt[at:]]).strip()
            task.add(length, index, text, needles[index]["question"].strip())
    return task
