"""Header access that never raises.

`email.policy.default` parses structured headers lazily and real mail breaks it in odd ways
(an address list the registry cannot parse raises from `msg["From"]`). Loop protection and
parsing must never crash on a header, so both read the raw value and decode it themselves.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from email.header import decode_header, make_header
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import Message
from email.utils import getaddresses
from typing import Any, TypeVar

T = TypeVar("T")

_FOLD = re.compile(r"\r?\n[ \t]*")
_MSG_ID = re.compile(r"<([^<>\s]+)>")
_SHORT = 4000  # characters: longer values are rare, and keeping them would make caches heavy


def _remembered(fn: Callable[..., T], size: Callable[..., int], maxsize: int) -> Callable[..., T]:
    """`fn` with its results remembered for arguments whose `size` is short: loop protection
    and parsing read the same few headers many times per mail, and these are pure functions
    of immutable values. Bounded in entries (least recently used go) and in what each keeps."""
    cached = functools.lru_cache(maxsize=maxsize)(fn)

    def call(*args: Any) -> T:
        return cached(*args) if size(*args) <= _SHORT else fn(*args)

    return call


def _decode_value(raw: str) -> str:
    # Bytes the parser could not decode survive as surrogate escapes; turn them back into
    # bytes and read them as UTF-8 (what 8-bit headers nearly always are today).
    if any("\udc80" <= ch <= "\udcff" for ch in raw):
        raw = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    unfolded = _FOLD.sub(" ", raw).strip()
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


def addresses(message: Message, name: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs from an address header; bad entries dropped."""
    values = header_values(message, name)
    if not values:
        return []
    return list(_addresses(tuple(values)))


def _addresses_of(values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    try:
        pairs = getaddresses(list(values))
    except Exception:
        return ()
    found: list[tuple[str, str]] = []
    for display, address in pairs:
        address = address.strip().strip("<>").strip()
        if address and " " not in address:
            found.append((display.strip(), address.lower()))
    return tuple(found)


_addresses = _remembered(_addresses_of, lambda values: sum(map(len, values)), maxsize=4096)


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
