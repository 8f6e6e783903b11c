"""Passage results that carry their context (issue 24): the window of neighbouring sentences around the matched
one, within a character budget, and boilerplate lines never chosen as the best passage. A real Sphinx page
(``tests/data/sphinx_argparse.html``) and, for the end-to-end test, the bundled all-MiniLM-L6-v2."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from longembed.encoding import Encoder
from longembed.encoding.spans import is_boilerplate, sentence_starts
from longembed.ingest import ingest
from longembed.ingest.html import html_to_text
from longembed.retrieve import Retriever
from longembed.retrieve.passages import WINDOW_CHARS, content_mask, passage_result, passage_vectors, passage_window
from longembed.settings import IndexSettings, RunOptions
from longembed.store import Store, point_id

SPHINX_PAGE = Path(__file__).resolve().parents[1] / "data" / "sphinx_argparse.html"
TEXT = html_to_text(SPHINX_PAGE.read_text(encoding="utf-8"))[1]
BOUNDS = [*sentence_starts(TEXT), len(TEXT)]
SPANS = [[a, b] for a, b in zip(BOUNDS, BOUNDS[1:])]
PROGRAM = 4
"""The sentence "The program defines what arguments it requires, ..." of the page."""


def test_the_window_grows_next_then_previous_and_stays_within_the_budget():
    assert TEXT[SPANS[PROGRAM][0] :].startswith("The program defines what arguments it requires")
    alone = (
        "The program defines what arguments it requires, and argparse will figure out how to parse those out of "
        "sys.argv."
    )
    next_one = " The argparse module also automatically generates help and usage messages."
    before = (
        "Source code: Lib/argparse.py\nThe argparse module makes it easy to write user-friendly command-line "
        "interfaces. "
    )
    windows = {budget: TEXT[slice(*passage_window(TEXT, SPANS, PROGRAM, budget))] for budget in (0, 200, 300)}
    assert windows[0] == alone  # no room: the sentence itself, trailing whitespace left out
    assert windows[200] == alone + next_one  # 186 characters; the previous sentence would make 268
    # 268 with the previous one; the next one ("The module will also issue errors ...") would pass 300, so that side
    # stops and the other takes the "Source code" line: 297 characters
    assert windows[300] == before + alone + next_one
    assert all(len(w) <= budget or budget == 0 for budget, w in windows.items())


def test_a_result_keeps_the_matched_sentence_offsets():
    result = passage_result({"text": TEXT, "passages": SPANS}, PROGRAM, 0.5, 200)
    assert TEXT[result["start_char"] : result["end_char"]] == result["text"]
    matched = TEXT[SPANS[PROGRAM][0] : SPANS[PROGRAM][1]].rstrip()
    assert TEXT[result["match_start_char"] : result["match_end_char"]] == matched
    assert result["start_char"] == result["match_start_char"] and result["score"] == 0.5
    with pytest.raises(IndexError, match="passage 99 of a document with"):
        passage_window(TEXT, SPANS, 99)


def test_version_note_and_source_line_may_not_be_best_passages():
    mask = content_mask({"text": TEXT, "passages": SPANS})
    assert [TEXT[a:b] for (a, b), keep in zip(SPANS, mask) if not keep] == [
        "New in version 3.2.\n", "Source code: Lib/argparse.py\n",
    ]
    assert content_mask({"text": "New in version 3.2.\n", "passages": [[0, 20]]}).tolist() == [True]  # nothing else


@pytest.fixture(scope="module")
def sphinx_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("sphinx")
    (root / "docs").mkdir()
    shutil.copy(SPHINX_PAGE, root / "docs" / "argparse.html")
    encoder = Encoder(IndexSettings(max_length=512), RunOptions(device="cpu"))
    store = Store(root / "store")
    ingest(root / "docs", encoder.settings, store, "c", encoder=encoder, progress=False)
    yield store, encoder
    store.close()


def test_a_question_closest_to_a_boilerplate_line_gets_a_sentence_of_content_in_a_window(sphinx_store):
    store, encoder = sphinx_store
    retriever = Retriever(store=store, collection="c", encoder=encoder)
    query = "argparse new in version 3.2"
    (hit,) = retriever.search(query, k=1)
    passage = hit["passage"]
    # a boilerplate line is the passage closest to the query...
    payload = store.retrieve("c", [point_id(hit["path"])])[0].payload
    vectors = passage_vectors(store, "c", retriever.search_hits(query, k=1))[hit["path"]]
    closest = int(np.argmax(vectors @ encoder.encode([query], kind="query")[0].vector))
    assert payload["text"][slice(*payload["passages"][closest])] == "Source code: Lib/argparse.py\n"
    # ...yet the best passage is the closest sentence of content, returned with its neighbours
    assert not is_boilerplate(payload["text"], passage["match_start_char"], passage["match_end_char"])
    assert payload["text"][passage["match_start_char"] : passage["match_end_char"]] == (
        "Core Functionality\nThe argparse module’s support for command-line interfaces is built around an instance "
        "of argparse.ArgumentParser."
    )
    assert payload["text"][passage["start_char"] : passage["end_char"]] == passage["text"]
    assert passage["start_char"] < passage["match_start_char"] < passage["match_end_char"] < passage["end_char"]
    assert len(passage["text"]) <= WINDOW_CHARS
    assert "¶" not in payload["text"]
    for result in retriever.search(query, k=5, unit="passage"):
        assert not is_boilerplate(payload["text"], result["match_start_char"], result["match_end_char"])
