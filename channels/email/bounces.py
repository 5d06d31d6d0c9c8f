"""Which addresses a bounce says failed, so they get no automatic mail for a while."""

from __future__ import annotations

import re
from email.message import EmailMessage, Message

# Starts only at the start of a run of local-part characters: linear on a long run with no
# "@" (see channels/email/redact.py).
_ADDRESS = re.compile(r"(?<![\w.!#$%&'*+/=?^`{|}~-])[\w.!#$%&'*+/=?^`{|}~-]++@[\w-]+(?:\.[\w-]+)+")


def failed_recipients(message: EmailMessage) -> tuple[str, ...]:
    """From X-Failed-Recipients and the Final-Recipient fields of a delivery-status report."""
    found: list[str] = []
    for value in message.get_all("X-Failed-Recipients") or []:
        found.extend(_ADDRESS.findall(str(value)))
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in _status_blocks(part):
            action = (block.get("Action") or "").strip().lower()
            if action and action not in ("failed", ""):
                continue  # delayed or relayed: not (yet) a failure
            for name in ("Final-Recipient", "Original-Recipient"):
                value = block.get(name)
                if value:
                    found.extend(_ADDRESS.findall(str(value).split(";", 1)[-1]))
                    break
    seen: dict[str, None] = {}
    for address in found:
        seen.setdefault(address.lower(), None)
    return tuple(seen)


def _status_blocks(part: Message) -> list[Message]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    return []
