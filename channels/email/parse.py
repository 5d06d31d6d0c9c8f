"""Raw RFC 5322 bytes -> one `InboundMessage`, with the standard library only.

Parsing is the worker's job, not the IMAP intake's (which only stores raw bytes): whatever
we cannot read raises `EmailParseError` with a reason and the caller quarantines the raw
mail, so one bad message never blocks the ones behind it. Everything else degrades instead
of failing: unknown charsets are replaced, HTML-only mail is turned into text, broken
headers are read raw.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import parsedate_to_datetime

from bot.domain.model import Attachment, Channel, InboundMessage
from channels.base import InvalidPayloadError
from channels.email.headers import (
    RememberingHeaderRegistry,
    address_field,
    addresses,
    header_text,
    header_values,
    local_part,
    message_ids,
    one_line,
)
from channels.email.html_text import html_to_text
from channels.email.quotes import is_forward, strip_quotes

DEFAULT_MAX_BYTES = 25 * 1024 * 1024
# Characters of text given to the heuristics (quote stripping, classification, hazards): a
# resident's enquiry is far shorter, and every step after parsing is then bounded.
TEXT_LIMIT = 100_000
# Characters of markup given to the HTML-to-text conversion.
HTML_LIMIT = 1_000_000
# Characters of subject kept: room for "Re: " and " [DS-...]" in a 1,000-character column.
SUBJECT_LIMIT = 900


class _BoundedPolicy(EmailPolicy):
    """`email.policy.default`, except that a header value is cut to `HEADER_PARSE_LIMIT`
    characters before the structured parser reads it. That parser is slower than linear on
    some shapes (80 KB of Content-Type parameters took 9 s) and reads Content-Type a dozen
    times per mail; no real header we parse structurally comes near the limit, and our own
    header reading (headers.py) works on the raw values anyway."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        if isinstance(value, str) and not hasattr(value, "name"):
            value = value[:HEADER_PARSE_LIMIT]
        return super().header_fetch_parse(name, value)  # type: ignore[no-any-return]


# Characters of one header value the structured parser reads (what the header cache keeps).
HEADER_PARSE_LIMIT = 4000
POLICY = _BoundedPolicy(header_factory=RememberingHeaderRegistry())

# Set by the IMAP intake on the header-only stand-in it stores for a message too large to
# fetch (see channels/email/imap.py); such a stand-in is quarantined here, never answered.
OVERSIZE_HEADER = "X-Doorstep-Oversize"

# Charsets that mailers declare for text that is really Windows-1252 (the WHATWG mapping):
# decoding them as Latin-1 would turn curly quotes into control characters.
_AS_WINDOWS_1252 = frozenset({"us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1"})


class EmailParseError(InvalidPayloadError):
    """The bytes are not a mail we can read; `reason` is stored with the quarantined copy."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ParsedEmail:
    message: EmailMessage
    inbound: InboundMessage


def parse_email(
    raw: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    received_at: datetime | None = None,
    recipient: str | None = None,
) -> ParsedEmail:
    """Parse one raw mail.

    `received_at` is "now" for this mail (defaults to the current time): it is used when the
    Date header is missing or unparseable, and caps a Date in the future (a sender's wrong
    clock must not start an SLA clock late). `recipient` is the mailbox address the mail was
    fetched from; the matching Delivered-To / X-Original-To / To address is recorded.
    """
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise EmailParseError(f"expected bytes, got {type(raw).__name__}")
    raw = bytes(raw)
    if len(raw) > max_bytes:
        raise EmailParseError(f"message too large: {len(raw)} bytes (limit {max_bytes})")
    if not raw.strip():
        raise EmailParseError("empty message")
    try:
        parsed = BytesParser(policy=POLICY).parsebytes(raw)
    except Exception as exc:  # the parser is lenient; this is a safety net, not a path
        raise EmailParseError(f"unparseable message: {type(exc).__name__}") from exc
    if not isinstance(parsed, EmailMessage) or not parsed.keys():
        raise EmailParseError("no header fields: not an email")
    message = parsed
    oversize = header_text(message, OVERSIZE_HEADER)
    if oversize is not None:
        raise EmailParseError(f"message too large: {oversize} bytes (not fetched)")

    now = received_at if received_at is not None else datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)

    sender_name, sender, sender_problem = _sender(message)
    subject = _subject(message)
    full_text, source = _body_text(message)
    meta: dict[str, str] = {"body_source": source}
    if len(full_text) > TEXT_LIMIT:
        # The heuristics (quotes, classifier, hazards) read the start; the raw mail, stored
        # whole, keeps the rest for staff.
        full_text = full_text[:TEXT_LIMIT]
        meta["truncated"] = "text"
    body = strip_quotes(full_text)
    if not body and is_forward(subject):
        body = full_text.strip()

    if sender_problem is not None:
        meta["sender"] = sender_problem
    elif not sender:
        meta["sender"] = "missing"
    reply_to = addresses(message, "Reply-To")
    if reply_to:
        meta["reply_to"] = reply_to[0][1]
    raw_message_id = header_text(message, "Message-ID")
    ids = message_ids(raw_message_id)
    if ids:
        external_id = ids[0]
    else:
        # Stable across redelivery of the same bytes, so storage still dedupes.
        external_id = f"sha256-{hashlib.sha256(raw).hexdigest()}"
        meta["message_id"] = "missing"

    inbound = InboundMessage(
        channel=Channel.EMAIL,
        external_id=external_id,
        sender=sender,
        received_at=_date(message, now),
        body=body,
        subject=subject,
        sender_name=sender_name[:200] or None,
        recipient=_recipient(message, recipient),
        thread_refs=_thread_refs(message, exclude=external_id),
        attachments=tuple(_attachments(message)),
        full_text=full_text,
        meta=meta,
    )
    return ParsedEmail(message=message, inbound=inbound)


def _sender(message: EmailMessage) -> tuple[str, str, str | None]:
    """(display name, address, problem): the sender as RFC 5322 parsing finds it.

    A From the parser had to guess at (a bare address posing as a display name, a line
    break hidden in an encoded name, several mailboxes) names nobody: the sender is left
    empty, so no reply goes anywhere and nothing is filed under an address the mail only
    claims, and `problem` is recorded. Sender and Return-Path stand in only when From is
    absent.
    """
    field = address_field(message, "From")
    if field.mailboxes or field.problem:
        if field.problem is None:
            first = field.mailboxes[0]
            return first.display, first.address, None
        # A bare local part ("MAILER-DAEMON") still names a bounce's sender; no reply can go
        # to it, and loop protection reads it.
        bare = next((m for m in field.mailboxes if "@" not in m.address), None)
        if bare is not None:
            return bare.display, bare.address, field.problem
        return "", "", field.problem
    for name in ("Sender", "Return-Path"):
        field = address_field(message, name)
        if field.problem is None and field.mailboxes:
            first = field.mailboxes[0]
            return first.display, first.address, None
    # "From: <>" (some bounce generators) or no From at all: nobody to answer. The mail is
    # still read (a bounce names failed recipients); loop protection blocks any reply.
    return "", "", None


def _subject(message: EmailMessage) -> str | None:
    """The subject on one line (an encoded CR/LF must never reach a header we write),
    without NUL, and cut to what any acknowledgement can carry."""
    value = header_text(message, "Subject")
    if value is None:
        return None
    value = one_line(value)
    if len(value) > SUBJECT_LIMIT:
        value = value[: SUBJECT_LIMIT - 1].rstrip() + "…"
    return value


def _date(message: EmailMessage, now: datetime) -> datetime:
    value = header_text(message, "Date")
    if not value:
        return now
    try:
        when = parsedate_to_datetime(value)
    except Exception:
        return now
    if when.tzinfo is None:  # "-0000": RFC 5322 says UTC, origin unknown
        when = when.replace(tzinfo=UTC)
    return min(when, now)


def _recipient(message: EmailMessage, mailbox: str | None) -> str | None:
    candidates: list[str] = []
    for name in ("Delivered-To", "X-Original-To", "To", "Cc"):
        candidates.extend(address for _, address in addresses(message, name))
    if mailbox:
        wanted = mailbox.strip().lower()
        base_local, _, domain = wanted.rpartition("@")
        for address in candidates:
            if address == wanted:
                return address
        for address in candidates:
            # Plus-addressing ("team+repairs@"): keep the tag, it can route the enquiry.
            local = local_part(address)
            if address.endswith(f"@{domain}") and local.split("+", 1)[0] == base_local:
                return address
        return wanted  # Bcc: it was delivered to this mailbox without naming it
    return candidates[0] if candidates else None


def _thread_refs(message: EmailMessage, *, exclude: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for name in ("In-Reply-To", "References"):
        for value in header_values(message, name):
            for ref in message_ids(value):
                if ref != exclude:
                    seen.setdefault(ref, None)
    return tuple(seen)


def _leaf_parts(part: Message) -> Iterator[Message]:
    """Leaves of the MIME tree, not descending into attached messages (message/rfc822)."""
    if part.is_multipart() and part.get_content_maintype() == "multipart":
        payload = part.get_payload()
        if isinstance(payload, list):
            for child in payload:
                if isinstance(child, Message):
                    yield from _leaf_parts(child)
        return
    yield part


def _is_attachment(part: Message) -> bool:
    try:
        disposition = (part.get_content_disposition() or "").lower()
    except Exception:
        disposition = ""
    return disposition == "attachment" or bool(_filename(part))


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    return str(name) if name else None


def _body_part(message: EmailMessage) -> Message | None:
    try:
        body = message.get_body(preferencelist=("plain", "html"))
    except Exception:
        body = None
    if body is not None:
        return body
    # No inline text body: take the first text part that is not a named attachment.
    texts = [p for p in _leaf_parts(message) if p.get_content_maintype() == "text"]
    for part in texts:
        if not _is_attachment(part) and part.get_content_subtype() in ("plain", "html"):
            return part
    return None


def _body_text(message: EmailMessage) -> tuple[str, str]:
    part = _body_part(message)
    if part is None:
        return "", "none"
    text = decode_text(part)
    if part.get_content_subtype() == "html":
        return html_to_text(text[:HTML_LIMIT]), "html"
    return text.replace("\r\n", "\n").replace("\r", "\n"), "text"


def decode_text(part: Message) -> str:
    """A text part's content as str, whatever the declared (or wrong, or bogus) charset."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if not isinstance(data, bytes):
        payload = part.get_payload()
        return payload if isinstance(payload, str) else ""
    try:
        declared = (part.get_content_charset() or "").strip().lower()
    except Exception:
        declared = ""
    return decode_bytes(data, declared)


def decode_bytes(data: bytes, charset: str) -> str:
    codec = _codec(charset)
    if codec is not None:
        if codec == "windows-1252" and data.isascii():
            return data.decode("ascii")
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            pass
    # Declared charset missing, unknown or wrong: UTF-8 is by far the likeliest truth.
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return data.decode(codec or "windows-1252", errors="replace")


def _codec(charset: str) -> str | None:
    if not charset:
        return None
    if charset in _AS_WINDOWS_1252:
        return "windows-1252"
    try:
        return codecs.lookup(charset).name
    except (LookupError, ValueError):
        return None


def _attachments(message: EmailMessage) -> Iterator[Attachment]:
    body = _body_part(message)
    for part in _attached(message):
        if part is body:
            continue
        content_type = part.get_content_type()
        inline_text = content_type in ("text/plain", "text/html") and not _is_attachment(part)
        if inline_text or content_type.startswith("multipart/"):
            continue  # alternative bodies and signatures' HTML twins are not attachments
        yield Attachment(filename=_filename(part), content_type=content_type, size=_size(part))


def _attached(message: Message) -> Iterator[Message]:
    """Leaves plus attached messages (recorded as one attachment each, not descended into)."""
    if message.get_content_maintype() == "multipart":
        payload = message.get_payload()
        if isinstance(payload, list):
            for child in payload:
                if isinstance(child, Message):
                    yield from _attached(child)
        return
    yield message


def _size(part: Message) -> int:
    try:
        if part.get_content_maintype() == "message":
            return len(part.as_bytes())
        data = part.get_payload(decode=True)
        return len(data) if isinstance(data, bytes) else 0
    except Exception:
        return 0
