"""Keep residents' addresses out of logs and error messages.

Servers echo addresses in their replies ("550 5.1.1 <jo@example.org>: unknown user"), and
those replies end up in exception messages that are logged and stored, so everything an
email adapter reports goes through `redact_text` first.
"""

from __future__ import annotations

import re

# A match may start only where a run of local-part characters starts (the look-behind):
# without it a long run with no "@" is scanned again from each of its characters, which is
# quadratic (20,000 characters took seconds). Possessive repeats never give back.
_ADDRESS = re.compile(
    r"(?<![\w.!#$%&'*+/=?^`{|}~-])([\w.!#$%&'*+/=?^`{|}~-]++)@([\w-]++(?:\.[\w-]++)*+)"
)


def redact_address(address: str) -> str:
    """`jo.bloggs@example.org` -> `j***@example.org`: enough to tell mailboxes apart."""
    local, at, domain = address.rpartition("@")
    if not at:
        return f"{address[:1]}***" if address else ""
    return f"{local[:1]}***@{domain}"


def redact_text(text: str) -> str:
    """Redact every address found in free text (server replies, exception messages)."""
    return _ADDRESS.sub(lambda m: f"{m.group(1)[:1]}***@{m.group(2)}", text)
