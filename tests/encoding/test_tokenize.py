"""Tokenizing through the fast tokenizer's backend (:mod:`longembed.encoding.tokenize`) and naive passages cut from
their document's tokens: the ids, offsets and model inputs must be exactly those of the ``transformers`` wrapper and
of tokenizing each passage alone. The bundled all-MiniLM-L6-v2 tokenizer (BERT WordPiece) on the sample meetings
and on hand-made hard cases; a small BPE tokenizer built here (Metaspace, as SentencePiece models) for the
tokenizers whose passages must be tokenized again."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from conftest import SAMPLE_DOCS
from longembed.encoding import Encoder
from longembed.encoding.tokenize import Tokens
from longembed.settings import IndexSettings, RunOptions

HARD_TEXTS = [
    "Mr. Smith met Dr. Jones, e.g. at 3.30 p.m.; then (i.e. later) they left!  Next: the budget... ok?",
    "İstanbul İİİ straße. Ünïcödé àccents here. " * 40,  # characters the normalizer expands or strips
    "ab\x01cd. Control\x02characters inside words. Tab\tand\rreturn. " * 30,
    "supercalifragilistic" * 200 + " tail of a very long word. Another sentence.",  # one word past 100 characters
    "中文句子。另一个句子。 Mixed with English words. " * 60,
    "a,b;c:d(e)f[g]h{i}j<k>l " * 300,
]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(IndexSettings(extend="none", max_length=256, passage_size=16), RunOptions(device="cpu"))


def sample_texts() -> list[str]:
    return [p.read_text(encoding="utf-8") for p in sorted(SAMPLE_DOCS.glob("*.txt"))[:6]]


def test_backend_ids_and_offsets_are_the_wrappers(model_path):
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    tokens = Tokens(tokenizer)
    assert tokens.backend is not None and tokens.words_tokenize_alone
    texts = sample_texts()[:2] + HARD_TEXTS
    wrapped = tokenizer(texts, add_special_tokens=False, return_attention_mask=False, return_offsets_mapping=True)
    assert tokens.ids(texts) == wrapped["input_ids"]
    assert tokens.ids_and_offsets(texts) == [
        (ids, [tuple(o) for o in offsets]) for ids, offsets in zip(wrapped["input_ids"], wrapped["offset_mapping"])
    ]


def test_a_truncating_tokenizer_does_not_truncate_the_backend(model_path):
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    tokenizer.backend_tokenizer.enable_truncation(8)  # what a wrapper call with truncation=True leaves behind
    assert len(Tokens(tokenizer).ids(["one two three four five six seven eight nine ten eleven"])[0]) == 11


def test_splits_alone_at_word_boundaries_only(model_path):
    tokens = Tokens(AutoTokenizer.from_pretrained(model_path))
    text = "the runner's pace, steady"
    ids, offsets = tokens.ids_and_offsets([text])[0]
    starts = [s for s, _ in offsets]
    pieces = [text[s:e] for s, e in offsets]
    assert pieces == ["the", "runner", "'", "s", "pace", ",", "steady"]
    assert [tokens.splits_alone(text, starts, k) for k in range(len(starts) + 1)] == [
        True, True, True, True, True, True, True, True,
    ]
    word = "unaffable"  # WordPiece: 'una', '##ffa', '##ble'
    ids, offsets = tokens.ids_and_offsets([word])[0]
    assert len(ids) > 1
    starts = [s for s, _ in offsets]
    assert [tokens.splits_alone(word, starts, k) for k in range(len(starts) + 1)] == (
        [True] + [False] * (len(starts) - 1) + [True]
    )
    assert tokens.prefix_splits_alone("") and tokens.prefix_splits_alone("query: ")
    assert not tokens.prefix_splits_alone("query")


def test_naive_passages_cut_from_the_document_equal_passages_tokenized_alone(encoder):
    """Every naive passage's model input (sample meetings and the hard cases), reused from the document's tokens
    where the tokenizer allows it, equals the input of the passage tokenized alone (the path before reuse)."""
    texts = sample_texts() + HARD_TEXTS
    reused = encoder.preparer.prepare_with_passages(texts)
    encoder.preparer.tokens.words_tokenize_alone = False  # every passage tokenized alone
    try:
        alone = encoder.preparer.prepare_with_passages(texts)
    finally:
        encoder.preparer.tokens.words_tokenize_alone = True
    assert reused.passages == alone.passages and reused.token_ids == alone.token_ids
    n = 0
    for doc_reused, doc_alone in zip(reused.extra, alone.extra):
        assert len(doc_reused) == len(doc_alone)
        for a, b in zip(doc_reused, doc_alone):
            assert (a.input_ids, a.position_ids, a.variant) == (b.input_ids, b.position_ids, b.variant)
            n += 1
    assert n > 1000


def test_a_prefix_ending_inside_a_word_still_gives_each_passage_its_own_tokens(model_path):
    """With a document prefix that ends in a letter, ``prefix + passage`` may merge into one word: every passage
    is then tokenized alone, with the prefix, as before."""
    settings = IndexSettings(extend="none", max_length=256, passage_size=16, document_prefix="doc")
    enc = Encoder(settings, RunOptions(device="cpu"), model_path=model_path)
    text = sample_texts()[0][:3000]
    prepared = enc.preparer.prepare_with_passages([text])
    for p, seg in zip(prepared.passages[0], prepared.extra[0]):
        alone = enc.preparer.tokenize(["doc" + text[p.start : p.end]])[0]
        assert seg.input_ids[1:-1] == alone[: enc.preparer.content_limit]


def test_a_metaspace_tokenizer_never_reuses_document_tokens():
    """A SentencePiece-style tokenizer marks a word's first piece by what precedes it: no reuse, same ids as its
    wrapper. (A tiny BPE tokenizer trained here on a few sentences.)"""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.train_from_iterator(HARD_TEXTS[:1] * 5 + ["the budget meeting of the harbour committee"] * 5,
                                trainers.BpeTrainer(vocab_size=200, special_tokens=["<unk>"]))
    wrapper = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>")
    tokens = Tokens(wrapper)
    assert not tokens.words_tokenize_alone
    assert not tokens.splits_alone("the budget", [0, 4], 1)
    texts = ["the budget meeting", "Mr. Smith met Dr. Jones"]
    assert tokens.ids(texts) == wrapper(texts, add_special_tokens=False)["input_ids"]
