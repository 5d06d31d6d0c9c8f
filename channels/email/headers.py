"""Header access that never raises.

`email.policy.default` parses structured headers lazily and real mail breaks it in odd ways
(an address list the registry cannot parse raises from `msg["From"]`). Loop protection and
parsing must never crash on a header, so both read the raw value and decode it themselves.
"""

from __future__ import annotations

import functools
import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from email import errors
from email.header import decode_header, make_header
from email.headerregistry import AddressHeader, BaseHeader, HeaderRegistry
from email.message import Message
from typing import Any, TypeVar

T = TypeVar("T")

_FOLD = re.compile(r"\r?\n[ \t]*")
_MSG_ID = re.compile(r"<([^<>\s]+)>")
_DECODE_MAX = 16_000  # characters of a raw header value decoded
_SHORT = 4000  # characters: longer values are rare, and keeping them would make caches heavy


def _remembered(fn: Callable[..., T], size: Callable[..., int], maxsize: int) -> Callable[..., T]:
    """`fn` with its results remembered for arguments whose `size` is short: loop protection
    and parsing read the same few headers many times per mail, and these are pure functions
    of immutable values. Bounded in entries (least recently used go) and in what each keeps."""
    cached = functools.lru_cache(maxsize=maxsize)(fn)

    def call(*args: Any) -> T:
        return cached(*args) if size(*args) <= _SHORT else fn(*args)

    return call


def _unescape(raw: str) -> str:
    # Bytes the parser could not decode survive as surrogate escapes; turn them back into
    # bytes and read them as UTF-8 (what 8-bit headers nearly always are today).
    if any("\udc80" <= ch <= "\udcff" for ch in raw):
        raw = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return raw


def _decode_value(raw: str) -> str:
    # Decoding thousands of encoded words is slower than linear; no header we read by its
    # decoded value (subjects, loop headers) needs more than the start.
    unfolded = _FOLD.sub(" ", _unescape(raw[:_DECODE_MAX])).strip()
    try:
        return str(make_header(decode_header(unfolded)))
    except Exception:  # an RFC 2047 word with a bogus charset or broken encoding
        return unfolded


_decode = _remembered(_decode_value, len, maxsize=4096)


def header_values(message: Message, name: str) -> list[str]:
    """Every value of header `name` (case-insensitive), decoded and unfolded, in order."""
    wanted = name.lower()
    values: list[str] = []
    for key, value in message.raw_items():
        if key.lower() == wanted:
            values.append(_decode(value if isinstance(value, str) else str(value)))
    return values


def header_text(message: Message, name: str) -> str | None:
    """The first value of header `name`, or None when absent."""
    values = header_values(message, name)
    return values[0] if values else None


def has_header(message: Message, name: str) -> bool:
    wanted = name.lower()
    return any(key.lower() == wanted for key in message)


def raw_header_values(message: Message, name: str) -> list[str]:
    """Every value of header `name` as it came, unfolded but NOT decoded: RFC 2047 words
    are only allowed in some places, and decoding them first lets a name pose as an address."""
    wanted = name.lower()
    return [
        _FOLD.sub(" ", _unescape(value if isinstance(value, str) else str(value))).strip()
        for key, value in message.raw_items()
        if key.lower() == wanted
    ]


@dataclass(frozen=True, slots=True)
class Mailbox:
    """One mailbox of an address header, parsed as RFC 5322 says and decoded after."""

    display: str  # the display name, encoded words decoded, control characters spaced
    address: str  # lower-cased addr-spec; a bare local part ("mailer-daemon") has no "@"
    valid: bool  # a complete, clean address we may write to


@dataclass(frozen=True, slots=True)
class AddressField:
    mailboxes: tuple[Mailbox, ...]
    # Why the field cannot name one sender we may answer, or None: "unparseable" (syntax
    # errors, a line break hidden in an encoded name, an incomplete address) or "several".
    problem: str | None


# Defects that mean the parser had to guess: a display name that is really an address,
# missing brackets, stray characters. A guessed sender is never written to.
_GUESSED = (errors.InvalidHeaderDefect, errors.NonASCIILocalPartDefect)
_CLEAN_ADDRESS = re.compile(r"[^\s\"<>()\[\],;:\\@]++@[^\s\"<>()\[\],;:\\@]++")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_REGISTRY = HeaderRegistry()
_FIELD_MAX = 8000  # characters: address headers longer than this are not parsed at all


def one_line(text: str) -> str:
    """`text` with control characters (CR, LF, NUL, tabs) as single spaces, stripped."""
    return _CONTROL.sub(" ", text).strip()


def address_field(message: Message, name: str) -> AddressField:
    """The mailboxes of address header `name` (all its occurrences), parsed structurally.

    Remembered per message (loop protection asks for From and Sender a dozen times)."""
    fields = _FIELDS.get(message)
    if fields is None:
        fields = _FIELDS[message] = {}
    key = name.lower()
    found = fields.get(key)
    if found is None:
        found = fields[key] = _address_field(tuple(raw_header_values(message, name)))
    return found


_FIELDS: weakref.WeakKeyDictionary[Message, dict[str, AddressField]] = weakref.WeakKeyDictionary()

# The everyday forms, read without the (slow) structured parser: `jo@example.org` and
# `Jo Bloggs <jo@example.org>` with a plain ASCII name (no quotes, no dots, no encoded words,
# nothing the grammar treats specially). They give exactly what the parser gives
# (tests/unit/email/test_forged_sender.py checks it); anything else takes the parser.
_PLAIN_ADDRESS = r"[A-Za-z0-9_%+-]++(?:\.[A-Za-z0-9_%+-]++)*+@[A-Za-z0-9-]++(?:\.[A-Za-z0-9-]++)++"
_PLAIN_MAILBOX = re.compile(
    rf"(?P<bare>{_PLAIN_ADDRESS})"
    rf"|(?P<name>[A-Za-z0-9'-]++(?: [A-Za-z0-9'-]++)*+)? ?<(?P<addr>{_PLAIN_ADDRESS})>"
)


def _plain(value: str) -> Mailbox | None:
    match = _PLAIN_MAILBOX.fullmatch(value)
    if match is None:
        return None
    if match.group("bare"):
        return Mailbox("", match.group("bare").lower(), True)
    return Mailbox(match.group("name") or "", match.group("addr").lower(), True)


def _address_field_of(values: tuple[str, ...]) -> AddressField:
    found: list[Mailbox] = []
    problem: str | None = None
    for value in values:
        if value.strip() in ("", "<>"):
            continue  # the null sender of a bounce: nobody, but not a malformed somebody
        plain = _plain(value)
        if plain is not None:
            found.append(plain)
            continue
        if len(value) > _FIELD_MAX:
            problem = "unparseable"
            continue
        try:
            header = _REGISTRY("to", value)
        except Exception:
            # The registry refuses an address whose decoded parts hold CR or LF: a name
            # crafted to add a header. Nothing of it is used.
            problem = "unparseable"
            continue
        assert isinstance(header, AddressHeader)
        guessed = any(isinstance(defect, _GUESSED) for defect in header.defects)
        for mailbox in header.addresses:
            username, domain = mailbox.username, mailbox.domain
            if not username and not domain:
                problem = problem or "unparseable"
                continue
            address = f"{username}@{domain}" if domain else username
            address = address.strip().lower()
            if not address or any(ch.isspace() for ch in address):
                problem = problem or "unparseable"
                continue
            valid = not guessed and bool(_CLEAN_ADDRESS.fullmatch(address))
            if not valid:
                problem = problem or "unparseable"
            found.append(Mailbox(one_line(mailbox.display_name or ""), address, valid))
        if guessed and not header.addresses:
            problem = problem or "unparseable"
    if problem is None and len(found) > 1:
        problem = "several"
    return AddressField(tuple(found), problem)


_address_field = _remembered(_address_field_of, lambda values: sum(map(len, values)), maxsize=4096)


def addresses(message: Message, name: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs from an address header; bad entries dropped.

    Structural parsing, encoded words decoded only inside display names: a From such as
    `=?utf-8?q?victim@x?= <attacker@y>` yields attacker@y, never victim@x.
    """
    field = address_field(message, name)
    return [(mailbox.display, mailbox.address) for mailbox in field.mailboxes]


def first_address(message: Message, name: str) -> str | None:
    found = addresses(message, name)
    return found[0][1] if found else None


def message_ids(value: str | None) -> list[str]:
    """Ids from a Message-ID / In-Reply-To / References value, without angle brackets."""
    if not value:
        return []
    bracketed = _MSG_ID.findall(value)
    if bracketed:
        return bracketed
    # Some mailers drop the brackets; take whitespace-separated tokens that look like ids.
    return [token for token in value.split() if "@" in token]


def local_part(address: str) -> str:
    return address.rpartition("@")[0] if "@" in address else address


class RememberingHeaderRegistry(HeaderRegistry):
    """`email.policy.default` parses a header again on every read and on every write, and
    deciding about one mail reads Content-Type a dozen times (a profile of an email burst
    put a fifth of the pipeline's time there). Parsed headers are immutable, so the same
    (name, value) can share one parse; the cache is bounded in entries and in the size of
    what it keeps. Size it to the headers that repeat: those of the few mails being decided
    together when reading, only the fixed ones (From, MIME headers) when writing, where the
    rest are new with every message and would only be kept to no use."""

    def __init__(self, maxsize: int = 1024) -> None:
        super().__init__()
        # Values set from objects (not hashable) are never remembered.
        self._parse = _remembered(
            super().__call__,
            lambda _name, value: len(value) if type(value) is str else _SHORT + 1,
            maxsize=maxsize,
        )
        # The standard registry makes a new class with type() for every header it parses
        # and for every header set on a message (its max_count is looked up through it):
        # a tenth of the sending process's time in a burst. One class per name will do.
        self._class_for = functools.lru_cache(maxsize=256)(super().__getitem__)

    def __getitem__(self, name: str) -> type[BaseHeader]:
        return self._class_for(name.lower())

    def __call__(self, name: str, value: object) -> BaseHeader:
        return self._parse(name, value)
