"""Passages: spans with exact offsets, the three vector modes against direct model calls, long late chunking past
L_t, passage-level results and the settings of collections built before passages existed. Real text and the
bundled all-MiniLM-L6-v2 (real weights)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import SAMPLE_DOCS

from longembed.encoding import Encoder
from longembed.encoding.spans import passage_spans, sentence_starts
from longembed.errors import LongEmbedError
from longembed.ingest import SourceDocument, ingest_documents
from longembed.retrieve import Retriever
from longembed.retrieve.passages import WINDOW_CHARS
from longembed.settings import IndexSettings, RunOptions, adopt_passages
from longembed.store import Store

MEETING = (SAMPLE_DOCS / "ES2002a.txt").read_text(encoding="utf-8")
NEEDLE = "The town library closes at noon on Saturdays."
HAYSTACK = (
    "The committee met on Tuesday to discuss the budget. Several members raised concerns about the cost of the "
    "new roof. The treasurer presented three quotes from local builders. After a long debate the committee agreed "
    "to postpone the vote until the spring. Coffee and biscuits were served at ten. "
)


def _tokens(encoder: Encoder, text: str):
    return encoder.preparer.tokenize_with_offsets("", text)[2]


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(IndexSettings(max_length=512), RunOptions(device="cpu"))


@pytest.mark.parametrize(("sentences", "size"), [(1, 128), (3, 128), (0, 64), (1, 16)])
def test_spans_cover_the_text_exactly_and_hold_at_most_p_tokens(encoder, sentences, size):
    text = MEETING[:6000]
    tokens = _tokens(encoder, text)
    passages = passage_spans(text, tokens, size, sentences)
    assert passages[0].start == 0 and passages[-1].end == len(text)
    assert all(a.end == b.start and a.token_end == b.token_start for a, b in zip(passages, passages[1:]))
    assert "".join(text[p.start : p.end] for p in passages) == text
    assert passages[-1].token_end == len(tokens.starts)
    for p in passages:
        assert 1 <= p.n_tokens <= size
        # a passage's tokens are exactly the tokens the tokenizer finds in its text
        assert len(encoder.tokenize([text[p.start : p.end]])[0]) == p.n_tokens
    if sentences == 1 and size == 128:  # one sentence each: every passage starts where Punkt starts a sentence
        starts = set(sentence_starts(text))
        assert all(p.start in starts for p in passages)
        assert text[passages[1].start :].startswith("Project Manager:") or len(passages) > 10


def test_a_passage_never_spans_two_sentences_and_long_sentences_are_cut():
    encoder = Encoder(IndexSettings(extend="none", max_length=128), RunOptions(device="cpu"))
    long_sentence = " ".join(["word"] * 50) + "."
    text = f"First one. {long_sentence} Last one."
    passages = passage_spans(text, _tokens(encoder, text), 16, 1)
    pieces = [text[p.start : p.end] for p in passages]
    assert pieces[0] == "First one. "
    assert pieces[-1] == "Last one."
    assert [p.n_tokens for p in passages[1:-1]] == [16, 16, 16, 3]  # 50 words + "." = 51 tokens
    assert all(text[p.start - 1] == " " for p in passages[1:])  # cut between words


def test_naive_passage_vector_equals_encoding_the_passage_alone(encoder):
    text = HAYSTACK + NEEDLE + " " + HAYSTACK
    settings = replace(encoder.settings, passages="naive")
    prepared = encoder.preparer.prepare_with_passages([text], settings)
    (passages,) = prepared.passages
    (emb,) = encoder.encode_prepared(prepared)
    assert emb.passage_vectors.shape == (len(passages), 384)
    alone = encoder.encode([text[p.start : p.end] for p in passages])
    np.testing.assert_allclose(emb.passage_vectors, np.stack([a.vector for a in alone]), atol=1e-5)
    # the document vector is unchanged by the passages
    np.testing.assert_allclose(emb.vector, encoder.encode([text])[0].vector, atol=1e-6)


def _direct_states(model_path: str, encoder: Encoder, content_ids: list[int]) -> torch.Tensor:
    """Token states of the original model (a fresh transformers load), [CLS] ids [SEP], positions 0..n-1."""
    from transformers import AutoModel

    model = AutoModel.from_pretrained(model_path).eval()
    ids = torch.tensor([encoder.framing.wrap(content_ids)])
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=torch.ones_like(ids)).last_hidden_state[0]


def test_late_passage_vector_is_the_mean_of_the_direct_forward_passs_token_states(encoder, model_path):
    text = HAYSTACK + NEEDLE + " " + HAYSTACK  # < L_o tokens: pi feeds it with the original positions
    settings = replace(encoder.settings, passages="late")
    prepared = encoder.preparer.prepare_with_passages([text], settings)
    (passages,) = prepared.passages
    (emb,) = encoder.encode_prepared(prepared)
    ids, n_prefix, _ = encoder.preparer.tokenize_with_offsets("", text)
    states = _direct_states(model_path, encoder, ids)
    for i, p in enumerate(passages):
        mean = states[1 + p.token_start : 1 + p.token_end].mean(dim=0)  # +1: [CLS]
        expected = torch.nn.functional.normalize(mean, dim=0).numpy()
        np.testing.assert_allclose(emb.passage_vectors[i], expected, atol=1e-4)
    # late passages differ from naive ones: they saw the whole document
    assert not np.allclose(emb.passage_vectors[0], encoder.encode([text[: passages[0].end]])[0].vector, atol=1e-3)


def test_long_late_chunking_covers_a_document_of_three_times_l_t(model_path):
    encoder = Encoder(IndexSettings(extend="none", max_length=128), RunOptions(device="cpu"))
    text = (HAYSTACK * 8) + NEEDLE
    ids, _, tokens = encoder.preparer.tokenize_with_offsets("", text)
    assert len(ids) > 3 * 128
    settings = replace(encoder.settings, passages="late", passage_sentences=1, passage_size=32)
    prepared = encoder.preparer.prepare_with_passages([text], settings)
    (passages,) = prepared.passages
    (emb,) = encoder.encode_prepared(prepared)
    assert emb.truncated  # the doc vector keeps its meaning: the first L_t tokens
    assert passages[-1].end == len(text) and passages[-1].token_end == len(ids)
    assert emb.passage_vectors.shape == (len(passages), 384)
    assert len(prepared.extra[0]) >= 3  # macro windows past the first
    # the last passage (the needle) comes from the last macro window: mean of that window's direct token states
    seg, begin, end = prepared.passage_refs[0][-1]
    window = prepared.extra[0][seg - len(prepared.plans[0])]
    content = window.input_ids[1:-1]
    states = _direct_states(model_path, encoder, content)
    expected = torch.nn.functional.normalize(states[begin:end].mean(dim=0), dim=0).numpy()
    np.testing.assert_allclose(emb.passage_vectors[-1], expected, atol=1e-4)
    assert text[passages[-1].start : passages[-1].end] == NEEDLE


def test_window_late_pools_l_o_windows(model_path):
    encoder = Encoder(IndexSettings(max_length=2048), RunOptions(device="cpu"))
    text = (HAYSTACK * 12) + NEEDLE
    settings = replace(encoder.settings, passages="window-late")
    prepared = encoder.preparer.prepare_with_passages([text], settings)
    (passages,) = prepared.passages
    (emb,) = encoder.encode_prepared(prepared)
    assert all(len(s.input_ids) <= 512 for s in prepared.extra[0])
    seg, begin, end = prepared.passage_refs[0][-1]
    window = prepared.extra[0][seg - len(prepared.plans[0])]
    states = _direct_states(model_path, encoder, window.input_ids[1:-1])
    expected = torch.nn.functional.normalize(states[begin:end].mean(dim=0), dim=0).numpy()
    np.testing.assert_allclose(emb.passage_vectors[-1], expected, atol=1e-4)


@pytest.fixture(scope="module")
def needle_store(tmp_path_factory, encoder):
    store = Store(tmp_path_factory.mktemp("passages") / "store")
    docs = [
        SourceDocument("needle.txt", "needle", HAYSTACK * 2 + NEEDLE + " " + HAYSTACK, "a"),
        SourceDocument("meeting.txt", "meeting", MEETING[:3000], "b"),
        SourceDocument("other.txt", "other", "Mercury boils at 356.73 degrees Celsius. " + HAYSTACK, "c"),
    ]
    ingest_documents(docs, encoder.settings, store, "c", encoder=encoder, progress=False)
    yield store
    store.close()


def test_every_hit_names_its_best_passage_with_exact_offsets(needle_store, encoder):
    retriever = Retriever(store=needle_store, collection="c", encoder=encoder)
    assert retriever.settings.passages == "naive"
    (hit,) = retriever.search("When does the municipal book-lending building shut its doors at weekends?", k=1)
    assert hit["path"] == "needle.txt"
    text = needle_store.retrieve("c", [_pid("needle.txt")])[0].payload["text"]
    passage = hit["passage"]
    assert passage["text"] == text[passage["start_char"] : passage["end_char"]]
    assert text[passage["match_start_char"] : passage["match_end_char"]] == NEEDLE  # the matched sentence
    # the window: the needle and its neighbouring sentences, whole, within WINDOW_CHARS characters
    # (next, previous, next, ... until "The committee met ..." before it would pass 600: 581 characters)
    before = HAYSTACK[HAYSTACK.index("Several members") :]
    assert passage["text"] == before + NEEDLE + " " + HAYSTACK.rstrip()
    assert len(passage["text"]) <= WINDOW_CHARS
    assert hit["snippet"] == " ".join(passage["text"].split())
    query = encoder.encode(["When does the municipal book-lending building shut its doors at weekends?"], "query")
    alone = encoder.encode([NEEDLE + " "])[0].vector
    assert passage["score"] == pytest.approx(float(alone @ query[0].vector), abs=1e-5)


def test_unit_passage_returns_the_best_passages_across_documents(needle_store, encoder):
    retriever = Retriever(store=needle_store, collection="c", encoder=encoder)
    results = retriever.search("Mercury boiling point in Celsius", k=4, unit="passage")
    assert results[0]["path"] == "other.txt" and results[0]["text"].startswith("Mercury boils at 356.73")
    assert [r["rank"] for r in results] == [1, 2, 3, 4]
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    with pytest.raises(LongEmbedError, match="unknown unit"):
        retriever.search("x", unit="sentence")


def _pid(path: str) -> str:
    from longembed.store import point_id

    return point_id(path)


def test_settings_of_a_collection_before_passages_keep_their_fingerprint():
    old = {"settings_version": 1, "model": "sentence-transformers/all-MiniLM-L6-v2", "extend": "none",
           "extend_params": {}, "max_length": 128, "query_prefix": "", "document_prefix": ""}
    loaded = IndexSettings.from_dict(old)
    assert loaded.passages == "none" and loaded.to_dict() == old
    assert IndexSettings().passages == "naive"
    requested = IndexSettings(extend="none", max_length=128, query_prefix="", document_prefix="")
    adopted = adopt_passages(requested, loaded)
    assert adopted == loaded and adopted.fingerprint() == loaded.fingerprint()
    assert adopt_passages(replace(requested, passages="late"), loaded).passages == "late"  # asked for: checked
    with pytest.raises(LongEmbedError, match="naive, late, window-late"):
        IndexSettings(passages="sentences")
    with pytest.raises(LongEmbedError, match="passage-size"):
        IndexSettings(passage_size=2)


def test_llama_index_passage_retriever_returns_passages_with_offsets(needle_store, encoder):
    from llama_index.core.schema import NodeRelationship

    from longembed.integrations.llama_index import LongEmbedRetriever

    retriever = LongEmbedRetriever(Retriever(store=needle_store, collection="c", encoder=encoder),
                                   similarity_top_k=5, unit="passage")
    nodes = retriever.retrieve("When does the municipal book-lending building shut its doors at weekends?")
    assert len(nodes) == 5
    assert NEEDLE in nodes[0].node.text and nodes[0].node.metadata["path"] == "needle.txt"
    texts = {
        p: needle_store.retrieve("c", [_pid(p)])[0].payload["text"]
        for p in ("needle.txt", "meeting.txt", "other.txt")
    }
    for n in nodes:
        meta = n.node.metadata
        assert texts[meta["path"]][meta["start_char"] : meta["end_char"]] == n.node.text
        assert len(n.node.text) <= WINDOW_CHARS  # a window of whole sentences around the matched one
        assert n.node.relationships[NodeRelationship.SOURCE].node_id == _pid(meta["path"])


def test_post_search_gives_passages(needle_store, encoder):
    from fastapi.testclient import TestClient

    from longembed.serve.app import create_app

    client = TestClient(create_app(needle_store, collection="c", run=RunOptions(device="cpu"), preload=False),
                        base_url="http://127.0.0.1")  # a loopback Host (the default allowlist)
    query = "When does the municipal book-lending building shut its doors at weekends?"
    body = client.post("/search", json={"query": query, "k": 1}).json()
    passage = body["results"][0]["passage"]
    assert passage["text"][passage["match_start_char"] - passage["start_char"] :].startswith(NEEDLE)
    body = client.post("/search", json={"query": query, "k": 2, "unit": "passage"}).json()
    first = body["results"][0]
    assert first["path"] == "needle.txt" and first["match_end_char"] - first["match_start_char"] == len(NEEDLE)
    assert first["text"][first["match_start_char"] - first["start_char"] :].startswith(NEEDLE)
    assert client.post("/search", json={"query": query, "unit": "sentence"}).status_code == 422


def test_passages_follow_the_collections_settings_not_the_encoders(encoder):
    """One encoder serves collections of every passage mode (the bench, the perf scripts): ``prepare`` cuts the
    passages the given settings ask for."""
    text = HAYSTACK + NEEDLE
    assert encoder.settings.passages == "naive"
    late = encoder.prepare([text], passages=replace(encoder.settings, passages="late"))
    naive = encoder.prepare([text], passages=encoder.settings)
    assert all(start >= 0 for _, start, _ in late.passage_refs[0])  # spans of the document's own forward pass
    assert all(start == -1 for _, start, _ in naive.passage_refs[0])  # each passage its own input
    assert len(late.passages[0]) == len(naive.passages[0]) == 6
    assert encoder.prepare([text], passages=replace(encoder.settings, passages="none")).passages is None
