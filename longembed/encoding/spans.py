"""Cutting a document into sentences and passages with exact character offsets (the spans that the ``chunks``
vectors embed and the ``passages`` payload stores; :mod:`longembed.retrieve.passages` turns them into results).

A passage is a span ``[start, end)`` of the stored text. The spans of one text are contiguous: the first starts
at 0, each starts where the one before ends, and the last ends at the end of the covered text, so they cover it
with no gap and no overlap (the whitespace between two sentences belongs to the sentence before it).

Granularity (:class:`PassagePlan`):

- ``sentences`` (``passage_sentences`` = N ≥ 1): N consecutive sentences per passage, from NLTK's Punkt sentence
  splitter (Kiss & Strunk 2006; the English model that ships with ``llama-index-core``, the one LlamaIndex's
  ``SentenceSplitter`` uses) with the abbreviations of :data:`ABBREVIATIONS` added to the model's own list, so
  "(e.g. by a signal)" or "i.e. a with statement" do not end a sentence; a passage never grows past P tokens, and
  one sentence longer than P tokens is cut into pieces of P tokens.
- token windows (``passage_sentences`` = 0): consecutive windows of P tokens.

Token counts come from the model's tokenizer: the offset mapping of the text's tokens (:class:`TokenizedText`),
so a passage's tokens are exactly the document tokens whose first character lies in its span.

Existing collections: the abbreviations and boilerplate lines (issue 24) change the spans of the few sentences
that hold one, and only for documents embedded from then on; they do not change :meth:`IndexSettings.fingerprint
<longembed.settings.IndexSettings.fingerprint>`, so no stored document is re-embedded for it (``ingest --force``
re-cuts a collection). Every point stores its own spans next to its own vectors, so a collection that mixes
both splits answers queries as before.
"""

from __future__ import annotations

import bisect
import importlib.util
import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)
_WHITESPACE = re.compile(r"\s*")

ABBREVIATIONS = frozenset({"e.g", "i.e", "etc", "cf", "vs", "viz", "approx", "incl", "resp"})
"""Abbreviations added to Punkt's (as Punkt stores them: lower case, without the final full stop). The English
model knows ``vs`` but not ``e.g``, ``i.e`` or ``etc``, so it split "(e.g. by a signal)" after "e.g." (issue 24).
Punkt may still end a sentence after one when the next word is capitalised and usually starts sentences
(its orthographic heuristic: "etc. The next one")."""
BOILERPLATE_LINE = re.compile(
    r"^[ \t]*(?:(?:New in version|Changed in version|Deprecated since version|Deprecated since|Added in version)"
    r" \d[^\n]*|Source code: \S+[ \t]*)$",
    re.MULTILINE,
)
"""Lines that documentation generators add to every page or API entry and that rarely answer a question on their
own: Sphinx's version notes ("New in version 3.7: ...", "Changed in version ...", "Deprecated since version ...",
"Added in version ..."; a line that starts so, to its end) and a "Source code: Lib/pickle.py" line (one path, nothing
after it). Conservative on purpose: a line must start with one of these exact phrases. Such a line is a passage of its
own (:func:`sentence_starts`) and never a query's best passage (:mod:`longembed.retrieve.passages`), yet it stays in
the stored text and in the windows returned around other passages, since it may carry a fact a user asks about."""


@dataclass(frozen=True)
class TokenizedText:
    """A text's tokens as the model's tokenizer cuts it (no special tokens).

    Attributes:
        starts: per token, the character offset in the text where it starts (non-decreasing).
        length: characters of the text.
    """

    starts: list[int]
    length: int


@dataclass(frozen=True)
class Passage:
    """One passage: characters ``[start, end)`` of the text and tokens ``[token_start, token_end)`` of it."""

    start: int
    end: int
    token_start: int
    token_end: int

    @property
    def n_tokens(self) -> int:
        return self.token_end - self.token_start


@functools.lru_cache(maxsize=1)
def _punkt():
    """NLTK's English Punkt model, from NLTK's data path or the copy bundled with ``llama-index-core``; an
    untrained Punkt splitter when neither is there (it still splits at ``. ! ?`` followed by a capital). Either
    gets :data:`ABBREVIATIONS` added to its parameters (``_params.abbrev_types``, the set Punkt's trainer fills)."""
    import nltk
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    # find the package without importing it (importing llama_index.core takes ~1.7 s, before the first split)
    spec = importlib.util.find_spec("llama_index.core")
    if spec is not None and spec.origin:
        bundled = Path(spec.origin).parent / "_static" / "nltk_cache"
        if bundled.is_dir() and str(bundled) not in nltk.data.path:
            nltk.data.path.append(str(bundled))
    try:
        from nltk.tokenize import PunktTokenizer

        tokenizer = PunktTokenizer("english")
    except (LookupError, ImportError, OSError):
        log.warning("NLTK's English Punkt model is missing; splitting sentences with an untrained Punkt model")
        tokenizer = PunktSentenceTokenizer()
    tokenizer._params.abbrev_types.update(ABBREVIATIONS)
    return tokenizer


def sentence_starts(text: str) -> list[int]:
    """Character offsets where the sentences of ``text`` start, the first being 0 (whitespace before the first
    sentence joins it); ``[]`` for a text of whitespace only. Paragraph breaks (a blank line) also end a sentence,
    and a boilerplate line (:data:`BOILERPLATE_LINE`) is a sentence of its own, so that it is never embedded
    inside a sentence of content (and :func:`is_boilerplate` can skip it)."""
    if not text.strip():
        return []
    starts = {0}
    for begin, _ in _punkt().span_tokenize(text):
        starts.add(begin)
    position = text.find("\n\n")
    while position >= 0:  # a heading or a list item without a full stop is a sentence of its own
        after = _WHITESPACE.match(text, position).end()
        if after < len(text):
            starts.add(after)
        position = text.find("\n\n", after)
    for match in BOILERPLATE_LINE.finditer(text):
        starts.add(match.start())
        after = _WHITESPACE.match(text, match.end()).end()
        if after < len(text):
            starts.add(after)
    return sorted(starts)


def is_boilerplate(text: str, start: int, end: int) -> bool:
    """Whether characters ``[start, end)`` of ``text`` are one boilerplate line and nothing else (whitespace
    around it aside): a whole line, or a sentence that starts with a version note inside a line ("... is created.
    New in version 3.3."), as :data:`BOILERPLATE_LINE` reads it. A span that also holds content is not."""
    return BOILERPLATE_LINE.fullmatch(text[start:end].strip()) is not None


def passage_spans(
    text: str, tokens: TokenizedText, size: int, sentences: int = 1, max_tokens: int | None = None
) -> list[Passage]:
    """The passages of ``text`` (see the module docstring), in text order.

    Args:
        text: the stored text.
        tokens: its tokens (:class:`TokenizedText` of the same text).
        size: P, the most tokens of one passage (≥ 1).
        sentences: sentences per passage, or 0 for windows of P tokens.
        max_tokens: cover only the first ``max_tokens`` tokens (the last passage then ends where token
            ``max_tokens`` starts); ``None``: the whole text.

    Returns:
        contiguous passages covering ``text`` (or its first ``max_tokens`` tokens) exactly, each of 1..P tokens;
        ``[]`` for a text without tokens.
    """
    starts = tokens.starts
    if max_tokens is not None and len(starts) > max_tokens:
        end_char, n_tokens = starts[max_tokens], max_tokens
    else:
        end_char, n_tokens = len(text), len(starts)
    if n_tokens == 0:
        return []
    starts = starts[:n_tokens]
    if sentences <= 0:
        cuts = _pieces(text, starts, 0, n_tokens, size)
    else:
        cuts = _sentence_cuts(text[:end_char], starts, size, sentences)
    cuts.append(n_tokens)
    out = []
    for i, (first, last) in enumerate(zip(cuts, cuts[1:])):
        begin = 0 if i == 0 else starts[first]
        finish = end_char if last == n_tokens else starts[last]
        out.append(Passage(begin, finish, first, last))
    return out


def _sentence_cuts(text: str, starts: list[int], size: int, sentences: int) -> list[int]:
    """Token indices where passages start: at sentence starts, N sentences or at most P tokens per passage."""
    sentence_tokens = sorted({bisect.bisect_left(starts, c) for c in sentence_starts(text)} | {0})
    sentence_tokens = [t for t in sentence_tokens if t < len(starts)]
    bounds = [*sentence_tokens, len(starts)]
    cuts: list[int] = []
    first, count = None, 0
    for begin, finish in zip(bounds, bounds[1:]):
        if first is not None and (count == sentences or finish - first > size):
            first = None
        if first is None:
            if finish - begin > size:  # a sentence longer than P: P-token pieces, the rest opens a passage
                pieces = _pieces(text, starts, begin, finish, size)
                cuts.extend(pieces[:-1])
                begin = pieces[-1]
            cuts.append(begin)
            first, count = begin, 0
        count += 1
    return cuts


def _pieces(text: str, starts: list[int], begin: int, finish: int, size: int) -> list[int]:
    """Token indices where pieces of at most ``size`` tokens of tokens ``[begin, finish)`` start, each cut moved
    back to the start of a word (a token after whitespace) when the window holds one, so that a piece tokenizes
    alone as it does in the text."""
    cuts = [begin]
    while finish - cuts[-1] > size:
        cut = cuts[-1] + size
        back = cut
        while back > cuts[-1] + 1 and not (starts[back] > 0 and text[starts[back] - 1].isspace()):
            back -= 1
        cuts.append(back if back > cuts[-1] + 1 else cut)
    return cuts
