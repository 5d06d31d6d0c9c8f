"""The probe marker: a token a resident cannot forge (an HMAC of the channel, the time and a
nonce under `probe.secret`), in the `X-Doorstep-Probe` header of an email and in the text
of a chat message or an SMS. Pure: no I/O.

A marker that does not verify (a wrong signature, another channel's, too old, no secret
configured) is nothing: the message is a resident's like any other.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

HEADER = "X-Doorstep-Probe"
PREFIX = "DSPROBE"
# The clock of the probing machine may run a little ahead of the server's.
_FUTURE_SKEW = timedelta(minutes=5)
_TOKEN = re.compile(r"\bDSPROBE-([a-z]{2,10})-(\d{9,11})-([0-9a-f]{12})-([0-9a-f]{32})\b")


@dataclass(frozen=True, slots=True)
class Marker:
    channel: str
    issued_at: datetime
    nonce: str


def _signature(secret: str, channel: str, stamp: int, nonce: str) -> str:
    message = f"doorstep-probe|{channel}|{stamp}|{nonce}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:32]


def new_nonce() -> str:
    return secrets.token_hex(6)


def sign(secret: str, channel: str, at: datetime, nonce: str | None = None) -> tuple[str, Marker]:
    """The token to put in a probe, and what it says."""
    stamp = int(at.timestamp())
    nonce = nonce or new_nonce()
    token = f"{PREFIX}-{channel}-{stamp}-{nonce}-{_signature(secret, channel, stamp, nonce)}"
    return token, Marker(channel, datetime.fromtimestamp(stamp, UTC), nonce)


def verify(
    secret: str | None, text: str, channel: str, now: datetime, max_age: timedelta
) -> Marker | None:
    """The first genuine marker for `channel` in `text`, or None."""
    if not secret or PREFIX not in text:
        return None
    for found in _TOKEN.finditer(text[:20000]):
        kind, stamp_text, nonce, signature = found.groups()
        if kind != channel:
            continue  # a marker copied from another channel's probe
        stamp = int(stamp_text)
        expected = _signature(secret, kind, stamp, nonce)
        if not hmac.compare_digest(expected, signature):
            continue
        issued = datetime.fromtimestamp(stamp, UTC)
        if issued - _FUTURE_SKEW > now or now - issued > max_age:
            continue  # a replay of an old probe, or a clock far off
        return Marker(kind, issued, nonce)
    return None


def email_header_values(raw: bytes) -> list[str]:
    """The probe header(s) of a raw email (headers only are parsed)."""
    try:
        headers = BytesHeaderParser(policy=default_policy).parsebytes(raw)
        return [str(v) for v in headers.get_all(HEADER) or []]
    except Exception:  # a mail we cannot read has no marker; the pipeline decides the rest
        return []


def recognise(
    secret: str | None,
    channel: str,
    *,
    raw: bytes | None,
    body: str,
    now: datetime,
    max_age: timedelta,
) -> Marker | None:
    """Whether an inbound message is one of our probes: the header for email (a resident's
    words quoting a token do not make a probe), the text for chat and SMS."""
    if not secret:
        return None
    if channel == "email":
        return verify(secret, " ".join(email_header_values(raw or b"")), channel, now, max_age)
    return verify(secret, body, channel, now, max_age)
