"""The first stages of the data path, without the model: prefix → clip → tokenize → extender segments (and, for
documents with passages, the passage spans and the model inputs their vectors come from).

Preparing is CPU work (the fast tokenizers release the GIL), so the ingest step prepares the next documents in a
worker thread while the model encodes the current ones; a :class:`Preparer` is safe to share between threads.
The one token limit of a collection lives here: :attr:`Preparer.token_limit`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from longembed.encoding.late_chunking import MAX_PASSAGE_TOKENS, PassageRef, plan_late_passages
from longembed.encoding.spans import Passage, TokenizedText, passage_spans
from longembed.encoding.tokenize import Tokens
from longembed.extenders import Extender, Segment
from longembed.settings import IndexSettings, TextKind

TOKENIZE_GROUP_CHARS = 200_000
"""Characters per tokenizer call of :meth:`Preparer.tokenize` (about 0.25 s of MiniLM's fast tokenizer on one
core); a single longer text is one call."""
CLIP_CHARS_PER_TOKEN = 32
"""A text longer than (content limit + margin) × this many characters is tokenized by growing prefixes, so a
50 MB single-line file costs a few thousand tokens, not millions."""
CLIP_MARGIN_TOKENS = 64
"""Tokens past the content limit a prefix must reach, so the cut word cannot change the kept tokens."""
CLIP_GROWTH_STEPS = 2
"""Prefixes tried at most before the last one is kept as it is: a text whose first (limit + margin) × 32 × 16
characters hold no more than the content limit in tokens (e.g. one 30 MB word, a single [UNK]) is embedded from
that prefix, so tokenizing costs a few MB of text, not the whole file (issue 14 row 8)."""


@dataclass(frozen=True)
class PreparedTexts:
    """Texts tokenized and split into model inputs by the extender, ready for ``Encoder.encode_prepared``.

    Attributes:
        kind: ``query`` or ``document`` (decides the prefix that was put before each text).
        token_ids: per text, its content token ids with the prefix, before truncation (of the clipped text when
            it was clipped).
        plans: per text, its model inputs (segments) after truncation to the content limit.
        extra: per text, more model inputs whose token states only serve passages (never the text's vector):
            the macro windows of long late chunking, or the passages of ``naive``; ``None``: none.
        passage_refs: per text, one :data:`~longembed.encoding.late_chunking.PassageRef` per passage: its
            ``segment`` indexes the text's ``plans`` followed by its ``extra``; ``None``: no passages.
        texts: the texts as tokenized (each a prefix of the given one when ``clipped``).
        clipped: per text, whether it was cut before tokenizing (see :meth:`Preparer.clip`).
        passages: per text, its passages (character and token offsets into the given text); ``None``: none.
    """

    kind: TextKind
    token_ids: list[list[int]]
    plans: list[list[Segment]]
    extra: list[list[Segment]] | None = None
    passage_refs: list[list[PassageRef]] | None = None
    texts: list[str] | None = None
    clipped: list[bool] | None = None
    passages: list[list[Passage]] | None = None


class Preparer:
    """Prefixes, tokenizer and extender of one encoder (thread-safe).

    Args:
        tokenizer: a Hugging Face tokenizer (fast tokenizers give the offsets passages need).
        extender: the collection's extension method (its ``content_limit`` and ``segments``).
        settings: the resolved settings (prefixes not ``None``; passage granularity).
    """

    def __init__(self, tokenizer, extender: Extender, settings: IndexSettings) -> None:
        self.tokenizer = tokenizer
        self.tokens = Tokens(tokenizer)
        self.extender = extender
        self.settings = settings

    @property
    def content_limit(self) -> int:
        """Content tokens kept per text (``max_length``, or L_o for ``none``, minus special tokens)."""
        return self.extender.content_limit

    @property
    def token_limit(self) -> int:
        """Tokens kept per text, special tokens included: a longer text is truncated to this."""
        return self.extender.content_limit + self.extender.framing.n_special

    def prefix(self, kind: TextKind) -> str:
        return (self.settings.query_prefix if kind == "query" else self.settings.document_prefix) or ""

    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Content token ids of each text, without special tokens and without truncation.

        Texts go to the tokenizer in groups of about :data:`TOKENIZE_GROUP_CHARS` characters (a slow tokenizer
        takes its lock once per group, so a query waits for one group of a long request, not for all of it)."""
        out: list[list[int]] = []
        for group in _char_groups(texts, TOKENIZE_GROUP_CHARS):
            out.extend(self.tokens.ids(group))
        return out

    def tokenize_with_offsets(self, prefix: str, text: str) -> tuple[list[int], int, TokenizedText]:
        """Content token ids of ``prefix + text`` (the ids :meth:`tokenize` gives), how many of them belong to the
        prefix, and the text's own tokens with their character offsets into ``text``."""
        return self.tokenize_all_with_offsets(prefix, [text])[0]

    def tokenize_all_with_offsets(self, prefix: str, texts: list[str]) -> list[tuple[list[int], int, TokenizedText]]:
        """:meth:`tokenize_with_offsets` of each text, in one tokenizer call (a fast tokenizer spreads the texts
        over its threads)."""
        out = []
        for text, (ids, offsets) in zip(texts, self.tokens.ids_and_offsets([prefix + t for t in texts])):
            n_prefix = 0
            while n_prefix < len(offsets) and offsets[n_prefix][0] < len(prefix):
                n_prefix += 1
            starts = [max(0, begin - len(prefix)) for begin, _ in offsets[n_prefix:]]
            out.append((ids, n_prefix, TokenizedText(starts=starts, length=len(text))))
        return out

    def clip(self, text: str) -> tuple[str, bool]:
        """A prefix of ``text`` whose first (content limit) tokens are those of the whole text, and whether it was
        cut.

        Texts up to (limit + margin) × :data:`CLIP_CHARS_PER_TOKEN` characters are returned whole; longer ones are
        cut to growing prefixes (×4 each time) until a prefix has more than limit + margin tokens, or
        :data:`CLIP_GROWTH_STEPS` prefixes were tried (then the next, 16 times the first, is kept).
        """
        limit = self.content_limit + CLIP_MARGIN_TOKENS
        budget = limit * CLIP_CHARS_PER_TOKEN
        for _ in range(CLIP_GROWTH_STEPS):
            if budget >= len(text):
                return text, False
            head = text[:budget]
            if len(self.tokenize([head])[0]) > limit:
                return head, True
            budget *= 4
        return (text, False) if budget >= len(text) else (text[:budget], True)

    def prepare(self, texts: list[str], kind: TextKind = "document", clip: bool = False) -> PreparedTexts:
        """Tokenize ``texts`` with the query or document prefix and split each into the extender's model inputs,
        after truncation to :attr:`content_limit`.

        Args:
            clip: first cut long texts with :meth:`clip` (documents of any size, e.g. a 50 MB file), so only a
                prefix is tokenized; ``n_tokens`` then counts the clipped text.
        """
        clipped = [self.clip(t) if clip else (t, False) for t in texts]
        kept = [t for t, _ in clipped]
        prefix = self.prefix(kind)
        ids = self.tokenize([prefix + t for t in kept])
        return PreparedTexts(
            kind=kind, token_ids=ids, plans=[self.extender.segments(x[: self.content_limit]) for x in ids],
            texts=kept, clipped=[c for _, c in clipped],
        )

    def prepare_with_passages(self, texts: list[str], settings: IndexSettings | None = None) -> PreparedTexts:
        """As :meth:`prepare` for documents, plus their passages, each text tokenized once, with offsets.

        Args:
            settings: whose ``passages`` (``naive``, ``late``, ``window-late``), ``passage_size`` and
                ``passage_sentences`` to use (default: the preparer's own; a bench compares several).

        Returns:
            :class:`PreparedTexts` with ``extra``, ``passage_refs`` and ``passages`` set; the encoder then fills
            each ``Embedded.passage_vectors``, one row per passage (see :mod:`longembed.encoding.late_chunking`).
        """
        s = settings or self.settings
        prefix = self.prefix("document")
        all_ids, plans, all_passages, extras, refs = [], [], [], [], []
        again: list[tuple[int, int, str]] = []  # (document, passage, text) of naive passages to tokenize alone
        tokenized = self.tokenize_all_with_offsets(prefix, texts)
        for doc, (text, (ids, n_prefix, tokens)) in enumerate(zip(texts, tokenized)):
            plan = self.extender.segments(ids[: self.content_limit])
            passages = passage_spans(text, tokens, s.passage_size, s.passage_sentences, max_tokens=MAX_PASSAGE_TOKENS)
            if s.passages == "naive":
                extra = self._naive_inputs(doc, text, prefix, ids, n_prefix, tokens, passages, again)
                doc_refs = [(len(plan) + i, -1, -1) for i in range(len(passages))]
            else:
                extra, doc_refs = plan_late_passages(s.passages, self.extender, ids, n_prefix, plan, passages)
            all_ids.append(ids)
            plans.append(plan)
            all_passages.append(passages)
            extras.append(extra)
            refs.append(doc_refs)
        if again:
            alone = self.prepare([t for _, _, t in again], kind="document").plans
            for (doc, i, _), plan in zip(again, alone):
                extras[doc][i] = plan[0]
        return PreparedTexts(
            kind="document", token_ids=all_ids, plans=plans, extra=extras, passage_refs=refs, texts=list(texts),
            clipped=[False] * len(texts), passages=all_passages,
        )

    def _naive_inputs(
        self, doc: int, text: str, prefix: str, ids: list[int], n_prefix: int, tokens: TokenizedText,
        passages: list[Passage], again: list[tuple[int, int, str]],
    ) -> list[Segment | None]:
        """The model input of each naive passage of ``text`` (the passage alone, as a short document with the
        document prefix: its first segment), cut from the document's ``ids`` where the passage tokenizes alone
        into them (:meth:`Tokens.splits_alone <longembed.encoding.tokenize.Tokens.splits_alone>`); ``None`` for
        the others, appended to ``again`` as ``(doc, passage index, passage text)`` to be tokenized alone."""
        out: list[Segment | None] = []
        head = ids[:n_prefix]
        reuse = self.tokens.prefix_splits_alone(prefix)
        starts, splits = tokens.starts, self.tokens.splits_alone
        for i, p in enumerate(passages):
            if reuse and splits(text, starts, p.token_start) and splits(text, starts, p.token_end):
                own = head + ids[n_prefix + p.token_start : n_prefix + p.token_end]
                out.append(self.extender.segments(own[: self.content_limit])[0])
            else:
                out.append(None)
                again.append((doc, i, text[p.start : p.end]))
        return out


def _char_groups(texts: list[str], max_chars: int) -> Iterator[list[str]]:
    """``texts`` in order, cut into consecutive groups of at most ``max_chars`` characters (a longer text alone)."""
    group: list[str] = []
    size = 0
    for text in texts:
        if group and size + len(text) > max_chars:
            yield group
            group, size = [], 0
        group.append(text)
        size += len(text)
    if group:
        yield group
