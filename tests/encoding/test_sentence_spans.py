"""Sentence spans on real documentation text (issue 24): abbreviations do not end a sentence, boilerplate lines
are sentences of their own, and the old import path still works (issue 21). No model needed."""

from __future__ import annotations

from pathlib import Path

from longembed.encoding.spans import is_boilerplate, sentence_starts
from longembed.ingest.html import html_to_text

SPHINX_PAGE = Path(__file__).resolve().parents[1] / "data" / "sphinx_argparse.html"
# threading.get_ident() and os.mkdir() in the Python 3.11 library reference, as the HTML reader extracts them
GET_IDENT = (
    "Return the ‘thread identifier’ of the current thread. This is a nonzero integer. Its value has no direct "
    "meaning; it is intended as a magic cookie to be used e.g. to index a dictionary of thread-specific data. "
    "Thread identifiers may be recycled when a thread exits and another thread is created. New in version 3.3."
)
MKDIR = (
    "On some systems, mode is ignored.  Where it is used, the current umask\nvalue is first masked out.  If bits "
    "other than the last 9 (i.e. the last 3\ndigits of the octal representation of the mode) are set, their "
    "meaning is\nplatform-dependent.  On some platforms, they are ignored and you should call\nchmod() explicitly "
    "to set them."
)


def sentences(text: str) -> list[str]:
    bounds = [*sentence_starts(text), len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:])]


def test_e_g_does_not_end_a_sentence_and_an_inline_version_note_is_boilerplate():
    assert sentences(GET_IDENT) == [
        "Return the ‘thread identifier’ of the current thread. ",
        "This is a nonzero integer. ",
        "Its value has no direct meaning; it is intended as a magic cookie to be used e.g. to index a dictionary "
        "of thread-specific data. ",
        "Thread identifiers may be recycled when a thread exits and another thread is created. ",
        "New in version 3.3.",
    ]
    starts = sentence_starts(GET_IDENT)
    assert [is_boilerplate(GET_IDENT, a, b) for a, b in zip(starts, [*starts[1:], len(GET_IDENT)])] == [
        False, False, False, False, True,
    ]


def test_i_e_does_not_end_a_sentence():
    assert sentences(MKDIR) == [
        "On some systems, mode is ignored.  ",
        "Where it is used, the current umask\nvalue is first masked out.  ",
        "If bits other than the last 9 (i.e. the last 3\ndigits of the octal representation of the mode) are set, "
        "their meaning is\nplatform-dependent.  ",
        "On some platforms, they are ignored and you should call\nchmod() explicitly to set them.",
    ]


def test_boilerplate_lines_of_a_sphinx_page_are_sentences_of_their_own():
    _, text = html_to_text(SPHINX_PAGE.read_text(encoding="utf-8"))
    first = sentences(text)[:4]
    assert first == [
        "argparse — Parser for command-line options, arguments and sub-commands\n",
        "New in version 3.2.\n",
        "Source code: Lib/argparse.py\n",
        "The argparse module makes it easy to write user-friendly command-line interfaces. ",
    ]
    bounds = sentence_starts(text)
    assert [is_boilerplate(text, a, b) for a, b in zip(bounds, bounds[1:5])] == [False, True, True, False]


def test_content_that_only_mentions_a_version_is_not_boilerplate():
    text = "Source code: Lib/pickle.py\nThe pickle module implements binary protocols.\nChanged in version 3.8: x."
    note = text.index("Changed")
    assert is_boilerplate(text, 0, 27) and is_boilerplate(text, note, len(text))
    assert not is_boilerplate(text, 0, note)  # the line and a sentence of content
    assert not is_boilerplate("It was new in version 3.2 of the tool.", 0, 38)


def test_the_old_module_path_still_imports():
    from longembed.encoding import passages, spans

    assert passages.sentence_starts is spans.sentence_starts and passages.Passage is spans.Passage
