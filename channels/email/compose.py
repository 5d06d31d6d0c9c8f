"""`OutboundMessage` -> a standard-library `EmailMessage` ready for SMTP.

Auto-replies carry `Auto-Submitted: auto-replied` (RFC 3834) and
`X-Auto-Response-Suppress: All` (Exchange), so the resident's own autoresponder stays quiet,
and thread under the resident's mail through In-Reply-To and References.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from bot.domain.model import OutboundMessage
from channels.email.headers import RememberingHeaderRegistry, message_ids

# SMTP policy: CRLF line endings, what the wire and DKIM signers expect. The fixed headers
# every acknowledgement carries are parsed once, not once per message.
_POLICY = SMTP.clone(header_factory=RememberingHeaderRegistry(maxsize=128))

# Possessive: "\s*" on both sides of an optional part made a run of spaces cost cubic time.
_REPLY_PREFIX = re.compile(r"^\s*+(re|aw|sv|antw|vs)\s*+(\[\d++\]\s*+)?:", re.IGNORECASE)


_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


class ComposeError(ValueError):
    """The outbound message cannot become a valid email (bad address, header injection)."""


def message_id_for(message: OutboundMessage, domain_for_ids: str) -> str:
    """A Message-ID derived from the idempotency key (without angle brackets).

    A retry of the same outbox row after a crash mid-send carries the same Message-ID, so the
    resident's mail system can drop the duplicate instead of showing two acknowledgements.
    """
    digest = hashlib.sha256(message.idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"doorstep.{digest}@{domain_for_ids}"


def reply_subject(subject: str | None, replying: bool) -> str | None:
    if subject is None or not replying or _REPLY_PREFIX.match(subject):
        return subject
    return f"Re: {subject}"


def _address(address: str, display_name: str | None = None) -> Address:
    address = address.strip()
    if not address or any(ch in address for ch in "\r\n<>,; \t"):
        raise ComposeError("invalid email address")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise ComposeError("invalid email address")
    try:
        return Address(display_name=display_name or "", username=local, domain=domain)
    except Exception as exc:  # the header registry rejects some odd local parts
        raise ComposeError("invalid email address") from exc


def _bracket(ref: str) -> str:
    ids = message_ids(ref) or [ref.strip()]
    return f"<{ids[0]}>"


def build_email(
    message: OutboundMessage,
    *,
    from_address: str,
    from_name: str | None,
    domain_for_ids: str,
    now: datetime | None = None,
) -> EmailMessage:
    """The email for `message`; `message.sender` (a team address), when set, is the From."""
    mail = EmailMessage(policy=_POLICY)
    sent_at = now if now is not None else datetime.now(UTC)
    try:
        mail["Message-ID"] = f"<{message_id_for(message, domain_for_ids)}>"
        mail["Date"] = format_datetime(sent_at.astimezone(UTC))
        mail["From"] = _address(message.sender or from_address, from_name)
        mail["To"] = _address(message.recipient)
        # One line whatever was stored: a CR/LF kept in a case's subject must not make every
        # later mail on the case fail to compose.
        one_line = (
            _LINE_BREAKS.sub(" ", message.subject).strip() if message.subject is not None else None
        )
        subject = reply_subject(one_line, message.in_reply_to is not None)
        if subject is not None:
            mail["Subject"] = subject
        if message.in_reply_to:
            mail["In-Reply-To"] = _bracket(message.in_reply_to)
        refs: dict[str, None] = {}
        for ref in (*message.references, *([message.in_reply_to] if message.in_reply_to else [])):
            if ref and ref.strip():
                refs.setdefault(_bracket(ref), None)
        if refs:
            mail["References"] = " ".join(refs)
        if message.auto:
            mail["Auto-Submitted"] = "auto-replied"
            mail["X-Auto-Response-Suppress"] = "All"
        mail.set_content(message.body, cte=_cte(message.body))
        if message.html:
            mail.add_alternative(message.html, subtype="html", cte=_cte(message.html))
    except ComposeError:
        raise
    except (ValueError, TypeError) as exc:  # e.g. a newline in the subject: header injection
        raise ComposeError(f"cannot build email: {exc}") from exc
    return mail


def _cte(text: str) -> str:
    # The default policy would pick 8bit for non-ASCII text, which needs 8BITMIME from every
    # relay on the way; quoted-printable always gets through and stays readable.
    if text.isascii() and all(len(line) <= 900 for line in text.splitlines()):
        return "7bit"
    return "quoted-printable"
