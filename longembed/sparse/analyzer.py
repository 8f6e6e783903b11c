"""The text analyzer of the ``bm25`` sparse vector: words → lower case → stop words out → Snowball stems → term ids.

One :class:`Analyzer` is built from the :class:`SparseSettings` recorded in a collection, so documents at ingest
time and queries at search time are cut into exactly the same terms.

Steps (those of the ``bm25s`` library's default English pipeline, so results compare with plain BM25):

1. words: the regular expression ``(?u)\\b\\w\\w+\\b`` on the lower-cased text (runs of two or more letters or
   digits; one-character words are dropped);
2. stop words: the 33-word English list of Lucene's ``EnglishAnalyzer`` (also ``bm25s.stopwords.STOPWORDS_EN``),
   copied here so that an upgrade of any library cannot change a recorded collection's terms;
3. stems: the Snowball stemmer for the language (PyStemmer, the C implementation of snowballstem.org);
4. term ids: CRC-32 of the stem's UTF-8 bytes, an unsigned 32-bit integer (Qdrant sparse-vector indices are
   u32); stable across processes, machines and Python versions (unlike ``hash()``).
"""

from __future__ import annotations

import re
import threading
import zlib
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, Literal

import Stemmer

from longembed.errors import LongEmbedError

Language = Literal["english"]
LANGUAGES: tuple[str, ...] = ("english",)
StopWords = Literal["lucene-en", "none"]
STOP_WORD_LISTS: dict[str, frozenset[str]] = {
    "lucene-en": frozenset(
        "a an and are as at be but by for if in into is it no not of on or such that the their then there these "
        "they this to was will with".split()
    ),
    "none": frozenset(),
}
"""Stop-word lists by name. ``lucene-en``: Lucene ``EnglishAnalyzer.ENGLISH_STOP_WORDS_SET`` (33 words)."""
TOKEN_PATTERN = r"(?u)\b\w\w+\b"
DEFAULT_K1 = 1.2
DEFAULT_B = 0.75


@dataclass(frozen=True)
class SparseSettings:
    """How a collection's ``bm25`` sparse vector is made; recorded in the collection's metadata.

    Attributes:
        language: Snowball stemmer language (one of :data:`LANGUAGES`).
        stemmer: ``snowball`` (PyStemmer) or ``none``.
        stop_words: name of a list in :data:`STOP_WORD_LISTS`.
        token_pattern: regular expression that finds words in lower-cased text.
        k1: BM25 term-frequency saturation (Robertson & Zaragoza 2009, §3.4; 1.2 is the usual choice).
        b: BM25 document-length normalisation, 0 (none) … 1 (full).
    """

    language: str = "english"
    stemmer: str = "snowball"
    stop_words: str = "lucene-en"
    token_pattern: str = TOKEN_PATTERN
    k1: float = DEFAULT_K1
    b: float = DEFAULT_B

    def __post_init__(self) -> None:
        if self.language not in LANGUAGES:
            raise LongEmbedError(f"unknown sparse language {self.language!r}; valid: {', '.join(LANGUAGES)}")
        if self.stemmer not in ("snowball", "none"):
            raise LongEmbedError(f"unknown stemmer {self.stemmer!r}; valid: snowball, none")
        if self.stop_words not in STOP_WORD_LISTS:
            raise LongEmbedError(f"unknown stop-word list {self.stop_words!r}; valid: {', '.join(STOP_WORD_LISTS)}")
        if not (self.k1 >= 0 and 0 <= self.b <= 1):
            raise LongEmbedError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={self.k1}, b={self.b}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SparseSettings:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def describe(self) -> str:
        return f"bm25(k1={self.k1}, b={self.b}, {self.language} {self.stemmer} stems, {self.stop_words} stop words)"


def term_id(term: str) -> int:
    """The sparse-vector index of ``term``: CRC-32 of its UTF-8 bytes, in 0 … 2**32 − 1."""
    return zlib.crc32(term.encode("utf-8"))


class Analyzer:
    """Cuts text into BM25 terms as :class:`SparseSettings` say. Thread-safe (one stemmer per thread).

    Args:
        settings: the collection's sparse settings.
    """

    def __init__(self, settings: SparseSettings | None = None) -> None:
        self.settings = settings or SparseSettings()
        self._words = re.compile(self.settings.token_pattern)
        self._stop = STOP_WORD_LISTS[self.settings.stop_words]
        self._local = threading.local()

    def _stem(self, words: list[str]) -> list[str]:
        if self.settings.stemmer == "none":
            return words
        stemmer = getattr(self._local, "stemmer", None)
        if stemmer is None:  # PyStemmer objects are not safe to share between threads
            stemmer = self._local.stemmer = Stemmer.Stemmer(self.settings.language)
        return stemmer.stemWords(words)

    def terms(self, text: str) -> list[str]:
        """The terms of ``text`` in order, e.g. ``"The boiling point of Mercury"`` → ``["boil", "point", "mercuri"]``."""
        words = [w for w in self._words.findall(text.lower()) if w not in self._stop]
        return self._stem(words)

    def term_counts(self, text: str) -> tuple[dict[int, int], int]:
        """Term id → count in ``text``, and the document length |D| (number of terms after stop-word removal)."""
        terms = self.terms(text)
        return {term_id(t): n for t, n in Counter(terms).items()}, len(terms)
