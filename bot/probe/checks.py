"""What a probe's acknowledgement must carry (CONTACT, ACK-2; plain language): the case
reference, the deadline in words, and a way to get in touch. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable

from bot.domain.references import find_references
from bot.settings import Settings

_DAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
# "by 5pm on Wednesday 30 December", "by midday tomorrow", "within 2 working days",
# "before the end of today": a moment a resident can read, not a raw timestamp.
_DEADLINE = re.compile(
    rf"\b(by|before|within|no later than)\b[^.\n]{{0,60}}?"
    rf"\b(({_DAYS})|({_MONTHS})|today|tomorrow|tonight|\d+\s+(working\s+)?(days?|hours?))\b",
    re.IGNORECASE,
)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def contact_ways(settings: Settings) -> list[str]:
    """Every phone number, address and page we would accept as "a way to get in touch"."""
    org = settings.organisation
    found = [org.phone, org.emergency_phone, org.contact_email or "", org.website or ""]
    for team in settings.teams:
        found += [team.phone or "", team.email or ""]
    return [way for way in found if way.strip()]


def problems(
    text: str, settings: Settings, reference: str | None = None, *, around: str = ""
) -> list[str]:
    """What is missing from an acknowledgement, in staff's words (empty: it passes).

    `around`: what the resident sees beside the message, where a way to get in touch may
    be instead (the web chat shows the phone number in its header, CONTACT)."""
    found: list[str] = []
    if not text.strip():
        return ["the acknowledgement was empty"]
    references = list(find_references(text))
    if reference is not None and reference.upper() not in references:
        found.append(
            f"no reference (expected {reference})" if not references else "a wrong reference"
        )
    elif reference is None and not references:
        found.append("no reference")
    if _DEADLINE.search(text) is None:
        found.append("no deadline in words")
    if not _has_contact(f"{text}\n{around}", contact_ways(settings)):
        found.append("no way to get in touch (phone, email or website)")
    return found


def _has_contact(text: str, ways: Iterable[str]) -> bool:
    lowered = text.lower()
    digits = _digits(text)
    for way in ways:
        way_digits = _digits(way)
        if "@" in way or ("." in way and not way_digits):
            if way.lower().removeprefix("https://").removeprefix("http://") in lowered:
                return True
        elif len(way_digits) >= 6 and way_digits in digits:
            return True
    return False
