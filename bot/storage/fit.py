"""Values made storable before they reach the database (issue 14: nothing lost to our schema).

PostgreSQL refuses a NUL character in any text value; neither backend can store a lone
surrogate (what undecodable bytes become in Python); and PostgreSQL refuses a string longer
than its column where SQLite silently keeps it. A resident's message carrying any of these
used to be quarantined for good. Here the decoded message is cleaned and cut to its columns
before anything is written; the raw bytes, stored first and untouched, keep the original.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import sqlalchemy as sa

from bot.domain.model import InboundMessage
from bot.storage import tables as t

# NUL (refused by PostgreSQL in text and JSON) and lone surrogates (not encodable as UTF-8).
_REFUSED = re.compile("[\x00\ud800-\udfff]")
# Line breaks and other control characters have no place in one-line values (a subject
# becomes a mail header: a CR/LF there makes every mail on the case fail to compose).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
ELLIPSIS = "…"


def storable(text: str) -> str:
    """`text` without the characters a database refuses (NUL dropped, surrogates replaced)."""
    if not _REFUSED.search(text):
        return text
    return _REFUSED.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def one_line(text: str) -> str:
    """`text` storable and on one line: control characters become single spaces."""
    return _CONTROL.sub(" ", storable(text)).strip()


def length_of(column: sa.Column[Any]) -> int | None:
    """The column's declared length in characters, or None for unbounded text."""
    return getattr(column.type, "length", None)


def fit(text: str, column: sa.Column[Any]) -> str:
    """`text` storable and cut to `column` (the cut marked with an ellipsis)."""
    text = storable(text)
    limit = length_of(column)
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


# "Re: ... [DS-2026-000123]": the reference at the end is what threads a reply, so a subject
# too long for its column is cut in the middle, never at the end.
_TRAILING_REFERENCE = re.compile(r"\s*\[[^\[\]]{1,60}\]\s*$")


def fit_subject(subject: str | None, column: sa.Column[Any]) -> str | None:
    """A subject on one line, cut to `column` keeping a trailing "[reference]" whole."""
    if subject is None:
        return None
    subject = one_line(subject)
    limit = length_of(column)
    if limit is None or len(subject) <= limit:
        return subject
    tail_match = _TRAILING_REFERENCE.search(subject)
    tail = tail_match.group().strip() if tail_match else ""
    head = subject[: tail_match.start()] if tail_match else subject
    room = limit - len(tail) - (2 if tail else 1)
    return f"{head[:room].rstrip()}{ELLIPSIS}{' ' if tail else ''}{tail}"


_ib = t.inbound_messages.c


def fit_inbound(message: InboundMessage) -> InboundMessage:
    """The decoded message with every text storable and cut to the columns it is written
    to (inbound_messages, contacts.name), before classification so that what is classified
    is what is stored."""
    subject = fit_subject(message.subject, _ib.subject)
    name = one_line(message.sender_name or "")[: length_of(t.contacts.c.name) or None] or None
    changed = dataclasses.replace(
        message,
        external_id=fit(one_line(message.external_id), _ib.external_id),
        sender=fit(one_line(message.sender), _ib.sender),
        recipient=fit(one_line(message.recipient), _ib.recipient) if message.recipient else None,
        subject=subject,
        sender_name=name if message.sender_name is not None else None,
        body=storable(message.body),
        full_text=storable(message.full_text) if message.full_text is not None else None,
        thread_refs=tuple(fit(one_line(ref), _ib.external_id) for ref in message.thread_refs),
        meta={storable(k): storable(v) for k, v in message.meta.items()},
    )
    return changed if changed != message else message
