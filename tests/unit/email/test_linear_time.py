"""Issue 14: no text step may take more than linear time in what a resident sends.

Each function gets adversarial input (the shapes that made the old patterns retry from every
character) at growing sizes; the time at 16 times the size must stay within a ratio that a
linear function meets with room to spare on a busy machine and a quadratic one cannot (16
times for linear, 256 for quadratic). A ratio inside one run, never an absolute time.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bot.nlu.rules import analyse
from bot.service.pipeline import _norm_subject
from channels.email.bounces import failed_recipients
from channels.email.compose import reply_subject
from channels.email.headers import message_ids
from channels.email.html_text import html_to_text
from channels.email.loops import auto_reply_block_reason
from channels.email.parse import parse_email
from channels.email.quotes import is_forward, strip_quotes
from channels.email.redact import redact_text
from tests.unit.email.helpers import message_of, raw_mail

SMALL, LARGE = 10_000, 160_000
# Linear: 16. Quadratic: 256. The room between absorbs a busy shared machine.
MAX_RATIO = 64
# Below this a run is all overhead and timer noise; the ratio is taken from here.
FLOOR = 0.002


def _repeat(unit: str, tail: str = "") -> Callable[[int], str]:
    return lambda size: unit * (size // len(unit)) + tail


def _cpu(fn: Callable[[str], object], text: str) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        fn(text)
        best = min(best, time.process_time() - start)
    return best


def _assert_linear(fn: Callable[[str], object], make: Callable[[int], str]) -> None:
    small = _cpu(fn, make(SMALL))
    large = _cpu(fn, make(LARGE))
    ratio = large / max(small, FLOOR)
    assert ratio <= MAX_RATIO, f"{LARGE // SMALL}x the input took {ratio:.0f}x the time"


def _subject_mail(subject: str) -> object:
    return auto_reply_block_reason(message_of(raw_mail(Subject=subject)))


def _from_mail(value: str) -> object:
    return parse_email(raw_mail(From=value)).inbound.sender


def _failed(value: str) -> object:
    return failed_recipients(message_of(raw_mail(X_Failed_Recipients=value)))


def _headers_mail(**headers: str) -> object:
    parsed = parse_email(raw_mail(**headers))
    return auto_reply_block_reason(parsed.message), failed_recipients(parsed.message)


def _mail_of(body: str) -> object:
    return parse_email(raw_mail(body)).inbound.body


def _html_mail(html: str) -> object:
    raw = raw_mail(html, Content_Type="text/html; charset=utf-8")
    return parse_email(raw).inbound.body


CASES: dict[str, tuple[Callable[[str], object], Callable[[int], str]]] = {
    # The freeze of issue 14: a run of spaces that does not end a line.
    "quotes: spaces not ending a line": (strip_quotes, _repeat(" ", "x")),
    "quotes: tabs and spaces": (strip_quotes, _repeat(" \t", "x\n")),
    "quotes: underscores then spaces": (
        strip_quotes,
        lambda n: "_" * (n // 2) + " " * (n // 2) + "x",
    ),
    "quotes: attribution-like line": (strip_quotes, _repeat("on wrote ", " x")),
    "quotes: attribution starts": (strip_quotes, _repeat("on x\n")),
    "quotes: dashes": (strip_quotes, _repeat("-", "x")),
    "quotes: Outlook headers": (strip_quotes, _repeat("From: x\n")),
    "quotes: blank lines": (strip_quotes, _repeat("\n", "x")),
    "quotes: quoted lines": (strip_quotes, _repeat("> a\n")),
    "forward subject": (is_forward, _repeat(" ", "fw")),
    "reply subject": (lambda s: reply_subject("re" + s, True), _repeat(" ", "x")),
    "redact: a long word without @": (redact_text, _repeat("a")),
    "redact: dots and at signs": (redact_text, _repeat("a.@")),
    "redact: long domain": (redact_text, lambda n: "a@" + "b." * (n // 2)),
    "html: unclosed tags": (html_to_text, _repeat("<a ")),
    "html: lone angle brackets": (html_to_text, _repeat("<")),
    "html: unclosed comments": (html_to_text, _repeat("<!--")),
    "html: unclosed declarations": (html_to_text, _repeat("<!")),
    "html: unclosed marked sections": (html_to_text, _repeat("<![if x>")),
    "html: unclosed end tags": (html_to_text, _repeat("</")),
    "html: unclosed script": (html_to_text, lambda n: "<script>" + "<" * n),
    "html: attributes": (html_to_text, lambda n: "<a" + " b=c" * (n // 4) + ">x"),
    "html: quotes in a tag": (html_to_text, lambda n: '<a b="' + "x" * n),
    "html: entities": (html_to_text, _repeat("&#")),
    "html: nested blocks": (html_to_text, _repeat("<div>")),
    "html: nested quotes": (html_to_text, _repeat("<blockquote>x")),
    "message ids": (message_ids, _repeat("<a")),
    "message ids without brackets": (message_ids, _repeat("a@ ")),
    "loop subject: spaces": (_subject_mail, _repeat(" ", "x")),
    "loop subject: out of office": (_subject_mail, lambda n: "out of office" + " " * n + "x"),
    "from: angle brackets": (_from_mail, _repeat("<")),
    "from: words": (_from_mail, _repeat("a ")),
    "failed recipients": (_failed, _repeat("a")),
    "thread subject": (lambda s: _norm_subject("re" + s), _repeat(" ", "x")),
    # The hazard rules and entities read the same text (another module, checked here too).
    "rules: spaces": (analyse, _repeat(" ", "x")),
    "rules: words": (analyse, _repeat("gas smell not ")),
    "rules: digits": (analyse, _repeat("0 ")),
    "rules: dotted": (analyse, _repeat("a.")),
    # The standard library's structured header parser and encoded-word decoder.
    "header: Content-Type parameters": (
        lambda s: _headers_mail(Content_Type="text/plain; " + s),
        _repeat("a=b; "),
    ),
    "header: encoded words": (lambda s: _headers_mail(Subject=s), _repeat("=?utf-8?q?a?= ")),
    "header: Content-Disposition": (
        lambda s: _headers_mail(Content_Disposition="attachment; filename*=" + s),
        _repeat("%41"),
    ),
    "parse: a mail of spaces": (_mail_of, _repeat(" ", "x")),
    "parse: html of unclosed tags": (_html_mail, _repeat("<a ")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_time_grows_no_faster_than_the_input(name: str) -> None:
    fn, make = CASES[name]
    _assert_linear(fn, make)
