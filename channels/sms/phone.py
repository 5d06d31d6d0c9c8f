"""Phone numbers: E.164 for storage and sending, redacted for logs (PRIVACY)."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"[\s\-().]")


class PhoneError(ValueError):
    """Not a number we can text."""


def normalise(raw: str, *, default_country: str = "44") -> str:
    """'07700 900123' -> '+447700900123'; '+44 (0)7700 900123' -> '+447700900123'."""
    text = _DIGITS.sub("", raw.strip())
    text = text.replace("+44(0)", "+44").replace("+440", "+44")
    if text.startswith("00"):
        text = "+" + text[2:]
    elif text.startswith("0"):
        text = f"+{default_country}{text[1:]}"
    elif not text.startswith("+"):
        raise PhoneError("phone number must start with 0, 00 or +")
    digits = text[1:]
    if not digits.isdigit() or not 8 <= len(digits) <= 15:
        raise PhoneError("not a phone number (expected e.g. 07700 900123 or +447700900123)")
    return text


def redact(number: str | None) -> str:
    """'+447700900123' -> '+44…0123': enough to tell numbers apart in a log, no more."""
    if not number:
        return "-"
    if len(number) <= 6:
        return "…"
    return f"{number[:3]}…{number[-4:]}"
