"""HTML mail to readable plain text with the standard library only.

Residents' HTML-only mail (phones, webmail) must reach the classifier and staff as text.
Blockquotes are rendered with "> " so the quote stripper treats them like plain-text quotes.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIP = frozenset({"script", "style", "head", "title", "template", "noscript"})
_BLOCK = frozenset(
    {
        "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt",
        "fieldset", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
    }
)  # fmt: skip
_SPACE = re.compile(r"[ \t\r\n\f\u00a0]+")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._line_quote = 0
        self._skip = 0
        self._quote = 0
        self._pre = 0

    def _break(self) -> None:
        text = "".join(self._line).strip(" ") if not self._pre else "".join(self._line)
        prefix = "> " * self._line_quote
        self.lines.append(f"{prefix}{text}".rstrip() if text or prefix else "")
        self._line = []
        self._line_quote = self._quote

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skip += 1
        elif tag == "br":
            self._break()
        elif tag in _BLOCK:
            if self._line:
                self._break()
            if tag == "blockquote":
                self._quote += 1
                self._line_quote = self._quote
            elif tag == "pre":
                self._pre += 1
            elif tag == "li":
                self._line.append("- ")
        elif tag in ("td", "th") and self._line:
            self._line.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" or tag == "hr":
            self._break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK:
            if self._line:
                self._break()
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
                self._line_quote = self._quote
            elif tag == "pre":
                self._pre = max(0, self._pre - 1)
            elif tag == "p":
                self.lines.append("")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre:
            parts = data.split("\n")
            for index, part in enumerate(parts):
                if index:
                    self._break()
                self._line.append(part)
            return
        text = _SPACE.sub(" ", data)
        if not self._line:
            text = text.lstrip(" ")
            self._line_quote = self._quote
        elif self._line[-1].endswith(" "):
            text = text.lstrip(" ")
        if text:
            self._line.append(text)

    def text(self) -> str:
        if self._line:
            self._break()
        out: list[str] = []
        for line in self.lines:
            if not line and out and not out[-1]:
                continue  # one blank line between blocks is enough
            out.append(line)
        return "\n".join(out).strip("\n")


def html_to_text(html: str) -> str:
    """Readable text: scripts and styles dropped, blocks on their own lines, entities decoded."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # HTMLParser is lenient, but never let markup crash intake
        return _SPACE.sub(" ", re.sub(r"<[^>]*>", " ", html)).strip()
    return parser.text()
