"""A LlamaIndex reader that turns a whole HTML file into plain text (BeautifulSoup)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llama_index.core.readers.base import BaseReader
from llama_index.core.schema import Document

NON_TEXT_TAGS = ("script", "style", "noscript", "template", "svg", "head")
BLOCK_TAGS = (
    "p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote",
    "section", "article", "header", "footer", "table", "ul", "ol", "dt", "dd", "hr",
)


class HtmlTextReader(BaseReader):
    """Read an HTML file as one document: tags removed, ``<script>``/``<style>`` content dropped.

    The ``<title>`` goes to ``metadata["title"]``; block elements end a line, inline ones do not.
    """

    def load_data(self, file: Path, extra_info: dict[str, Any] | None = None, fs: Any = None) -> list[Document]:
        from bs4 import BeautifulSoup

        raw = Path(file).read_bytes()
        soup = BeautifulSoup(raw, "html.parser")
        title = soup.title.get_text(" ", strip=True) if soup.title else ""
        for tag in soup(NON_TEXT_TAGS):
            tag.decompose()
        for tag in soup(BLOCK_TAGS):
            tag.insert_after("\n")
        lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
        text = "\n".join(line for line in lines if line)
        metadata = {**(extra_info or {}), **({"title": title} if title else {})}
        return [Document(text=text, metadata=metadata)]
