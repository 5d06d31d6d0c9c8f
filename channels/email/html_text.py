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
# Deeper quoting is still a quote; more "> " would only make the text grow with the square.
_MAX_QUOTE_DEPTH = 8
_TAG = re.compile(r"<[^<>]*+>")  # no "<" inside: each scan stops at the next one (linear)
_TAG_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ/")
# Elements whose content is never text for a reader, dropped before parsing: the standard
# parser's search for their end tag is repeated for every "<" inside them.
_DROP_CONTENT = ("script", "style")


def _defuse(html: str) -> str:
    """The markup made safe for `HTMLParser` in linear time, same text for a reader.

    The standard parser is quadratic on markup that never closes: for each unclosed "<" it
    looks for the end of the tag to the end of the input, and again at `close()` (60 KB of
    "<a " took 70 s). Here, in one pass that only moves forward: a "<" that does not start a
    tag closed by ">" before the next "<" becomes "&lt;" (text, as a browser shows it);
    comments, declarations, processing instructions and marked sections are dropped (never
    shown); script and style are dropped with their content.
    """
    lower = html.lower()
    out: list[str] = []
    n = len(html)
    i = 0  # copied up to here
    pos = 0  # looking from here
    next_gt = -1  # cached: the first ">" at or after `pos`, or n
    comments_close = True
    while True:
        lt = html.find("<", pos)
        if lt < 0:
            break
        if lower.startswith("<!--", lt):
            # Once no "-->" follows, none follows any later "<!--" either: look only once.
            end = html.find("-->", lt + 4) if comments_close else -1
            if end < 0:
                comments_close = False
                out.append(html[i:lt])
                out.append("&lt;")
                i = pos = lt + 1
                continue
            out.append(html[i:lt])
            i = pos = end + 3
            continue
        if next_gt < lt + 1:
            found = html.find(">", lt + 1)
            next_gt = n if found < 0 else found
        following = html.find("<", lt + 1, next_gt)
        if next_gt >= n or following >= 0 or lt + 1 >= n:
            out.append(html[i:lt])
            out.append("&lt;")
            i = pos = lt + 1
            continue
        first = html[lt + 1]
        if first in "!?":
            out.append(html[i:lt])
            i = pos = next_gt + 1
            continue
        if first not in _TAG_START:
            out.append(html[i:lt])
            out.append("&lt;")
            i = pos = lt + 1
            continue
        name_end = lt + 1
        while name_end < next_gt and html[name_end].isalnum():
            name_end += 1
        name = lower[lt + 1 : name_end]
        if name in _DROP_CONTENT:
            close = lower.find(f"</{name}", next_gt)
            out.append(html[i:lt])
            if close < 0:
                i = pos = n
                break
            end = html.find(">", close)
            i = pos = n if end < 0 else end + 1
            continue
        pos = next_gt + 1
    out.append(html[i:])
    return "".join(out)


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
        prefix = "> " * min(self._line_quote, _MAX_QUOTE_DEPTH)
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
    safe = _defuse(html)
    try:
        parser.feed(safe)
        parser.close()
    except Exception:  # HTMLParser is lenient, but never let markup crash intake
        return _SPACE.sub(" ", _TAG.sub(" ", safe)).strip()
    return parser.text()
