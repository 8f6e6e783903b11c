"""HTML files as whole documents: the page's main content (trafilatura), its ``<title>`` as the title.

Two steps, both linear in the size of the input:

1. :class:`PageScan`, one pass of libxml2's HTML parser (through lxml, events only, no tree is built): the
   ``<title>``, the number of elements, and the visible text (``<script>``, ``<style>``, ``<noscript>``,
   ``<template>``, ``<svg>`` and ``<head>`` dropped; block elements end a line). This is the fallback text.
2. trafilatura's main-content extraction (Barbaresi 2021, https://trafilatura.readthedocs.io), which drops
   navigation bars, sidebars, footers and cookie banners and keeps paragraphs, headings, tables and code
   blocks. It runs only on pages of at most :data:`MAX_MAIN_CONTENT_ELEMENTS` elements (its tree clean-up is
   linear but slow per element, about 0.1 ms); larger or adversarial inputs (100,000 nested, unclosed tags)
   keep the fallback text.

The fallback text is also used when trafilatura finds nothing, and when trafilatura kept every word of the
page anyway (tiny pages, where it splits inline elements into lines).

Permalink markers are then removed from the text (:data:`PERMALINK_MARKER`): the ``¶`` that Sphinx and MkDocs put
after every heading and API entry (``<a class="headerlink">¶</a>``), which would otherwise end up in passages and
in the words BM25 indexes. Changing the text changes its sha256, so the next ingest re-embeds HTML documents that
held such markers.

The bytes are decoded as plain-text files are (:func:`longembed.ingest.text.decode_text`), so binary data saved
as ``.html`` is refused with :class:`~longembed.ingest.text.NotTextError` like a binary ``.txt``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from longembed.ingest.text import PlainTextReader

log = logging.getLogger(__name__)

NON_TEXT_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head"})
BLOCK_TAGS = frozenset({
    "p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote",
    "section", "article", "header", "footer", "table", "ul", "ol", "dt", "dd", "hr", "nav", "aside", "main",
    "form", "figure", "figcaption", "dl", "caption", "title",
})
PERMALINK_MARKER = re.compile(r"(?<=\S)[¶\uf0c1](?=\s|$)|^[ \t]*[¶\uf0c1][ \t]*(?:\n|$)", re.MULTILINE)
"""A pilcrow (or Font Awesome's link icon U+F0C1, Read the Docs themes) that ends a word ("pickle — Python object
serialization¶", "class csv.excel¶") or stands alone on a line: a heading's permalink anchor. A pilcrow between
spaces ("§ 3 ¶ 2") or before a word is text, and kept."""
MAX_MAIN_CONTENT_ELEMENTS = 50_000
"""Pages with more elements than this skip trafilatura and keep the visible text (a bound on the time spent)."""


class PageScan:
    """An lxml parser target (libxml2's HTML parser, events only, no tree): ``title``, ``elements`` (start tags
    seen) and :meth:`text`.

    Time and memory are linear in the input: text is appended to a list and one counter per non-text tag is
    kept (an unclosed ``<head>`` ends at ``<body>``).
    """

    def __init__(self) -> None:
        self.elements = 0
        self._hidden = dict.fromkeys(NON_TEXT_TAGS, 0)
        self._in_title = False
        self._title: list[str] = []
        self._parts: list[str] = []

    @property
    def title(self) -> str:
        return " ".join("".join(self._title).split())

    def start(self, tag: str, attrib: Any) -> None:
        self.elements += 1
        if tag == "body":
            self._hidden["head"] = 0
        if tag == "title":
            self._in_title = not self._title  # the first <title> only
        elif tag in self._hidden:
            self._hidden[tag] += 1
        if tag in BLOCK_TAGS:
            self._parts.append("\n")

    def end(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif self._hidden.get(tag):
            self._hidden[tag] -= 1
        if tag in BLOCK_TAGS:
            self._parts.append("\n")

    def data(self, data: str) -> None:
        if self._in_title:
            self._title.append(data)
        elif not any(self._hidden.values()):
            self._parts.append(data)

    def comment(self, text: str) -> None:
        pass

    def close(self) -> PageScan:
        return self

    def text(self) -> str:
        """The visible text: whitespace runs collapsed within lines, empty lines dropped."""
        lines = (" ".join(line.split()) for line in "".join(self._parts).splitlines())
        return "\n".join(line for line in lines if line)


def scan_page(markup: str) -> PageScan:
    """Run :class:`PageScan` over ``markup`` (libxml2 in recovery mode: broken markup never raises)."""
    from lxml import etree

    parser = etree.HTMLParser(target=PageScan(), recover=True, huge_tree=True, remove_comments=True)
    parser.feed(markup)
    return parser.close()


def main_content(markup: str) -> str | None:
    """The main content of a page as plain text (trafilatura; tables and code blocks kept), or ``None``."""
    import trafilatura

    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)  # its parse errors are not the user's business
    text = trafilatura.extract(
        markup, output_format="txt", include_comments=False, include_tables=True, include_images=False,
        deduplicate=False, with_metadata=False,
    )
    return text.strip() if text and text.strip() else None


def html_to_text(markup: str) -> tuple[str, str]:
    """``(title, text)`` of an HTML page: the ``<title>`` and the main content (see the module docstring)."""
    scan = scan_page(markup)
    visible = scan.text()
    text = None
    if visible and scan.elements <= MAX_MAIN_CONTENT_ELEMENTS:
        try:
            text = main_content(markup)
        except Exception as exc:  # noqa: BLE001 - a page trafilatura cannot handle keeps the visible text
            log.debug("trafilatura failed (%s); keeping the visible text", exc)
    if text is None or text.split() == visible.split():
        text = visible
    return scan.title, PERMALINK_MARKER.sub("", text)


class HtmlTextReader(PlainTextReader):
    """Read an HTML file as one document: its main content as text, the ``<title>`` in ``metadata["title"]``
    (:meth:`PlainTextReader.load_data`, with :func:`html_to_text` as :meth:`to_text`).

    Raises:
        NotTextError: the file holds binary data.
        OSError: the file cannot be read.
    """

    def to_text(self, decoded: str) -> tuple[str, str]:
        return html_to_text(decoded)
