"""What a resident's answer to one of our appointment texts means, in plain words
("cancel my appointment", "change", "can't make it", a date, YES / NO, and after the job
"were you happy?"). Pure: no I/O; replies.py acts on the answer."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date, timedelta

_WEEKDAYS = {
    "mon": 0,
    "monday": 0,
    "tue": 1,
    "tues": 1,
    "tuesday": 1,
    "wed": 2,
    "weds": 2,
    "wednesday": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "thursday": 3,
    "fri": 4,
    "friday": 4,
    "sat": 5,
    "saturday": 5,
    "sun": 6,
    "sunday": 6,
}
_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_YES = {"yes", "y", "yeah", "yep", "yup", "ok", "okay", "confirm", "confirmed", "fine", "sure"}
_NO = {"no", "n", "nope", "nah"}
_CANT = re.compile(
    r"\b(can'?t|cannot|can not|won'?t|will not|unable to|not able to)\b.{0,20}"
    r"\b(make|do|be (in|home|there|around)|come|attend)\b"
    r"|\bnot (going to|gonna) be (in|home|there)\b|\bwon'?t be (in|home|there)\b"
)
_CHANGE = re.compile(
    r"\b(change|rearrange|re-arrange|reschedule|re-schedule|another (day|date|time)|"
    r"different (day|date|time)|move (it|the|my))\b"
)
_CANCEL = re.compile(r"\bcancel(l?ed|l?ing|lation)?\b|\bdon'?t need\b|\bno longer need\b")
_UNHAPPY = re.compile(
    r"\b(not|unhappy|still|poor|bad|awful|terrible|rubbish|broken|leak(s|ing)?|worse|"
    r"didn'?t|did not|hasn'?t|has not|isn'?t|wasn'?t|never|complain|mess|dirty)\b|n't\b"
)
_HAPPY = re.compile(
    r"\b(yes|happy|great|good|fine|lovely|brilliant|excellent|perfect|thanks?|thank you|"
    r"sorted|fixed|pleased|satisfied|ok|okay|very)\b"
)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2,4}))?\b")
_WORD_DATE = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})\b|\b([a-z]{3,9})\s+(\d{1,2})(?:st|nd|rd|th)?\b"
)


@dataclass(frozen=True, slots=True)
class Reply:
    kind: str  # confirm, cancel, change, happy, unhappy
    day: date | None = None  # a date the resident offered


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("’", "'")).strip()


def find_date(text: str, today: date) -> date | None:
    """The first date in a reply ('Tuesday', 'tomorrow', '3/12', '3rd December'), never in
    the past: a weekday means the next one after today."""
    low = _words(text)
    if re.search(r"\btomorrow\b", low):
        return today + timedelta(days=1)
    match = _NUMERIC_DATE.search(low)
    if match is not None:
        day, month, year = match.groups()
        with contextlib.suppress(ValueError):
            found = date(_year(year, today), int(month), int(day))
            return found if year or found >= today else found.replace(year=found.year + 1)
    for match in _WORD_DATE.finditer(low):
        if match.group(1):
            day_s, month_s = match.group(1), match.group(2)
        else:
            day_s, month_s = match.group(4), match.group(3)
        month = _MONTHS.get(month_s[:3])
        if month is None:
            continue
        with contextlib.suppress(ValueError):
            found = date(today.year, month, int(day_s))
            return found if found >= today else found.replace(year=today.year + 1)
    for word in re.findall(r"[a-z]+", low):
        if word in _WEEKDAYS:
            ahead = (_WEEKDAYS[word] - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead)
    return None


def _year(text: str | None, today: date) -> int:
    if not text:
        return today.year
    value = int(text)
    return value + 2000 if value < 100 else value


def parse_reply(text: str, today: date, *, awaiting: str | None) -> Reply | None:
    """What an answer to one of our appointment texts means, in plain words; None when it is
    not about the appointment (then it is an ordinary message and gets acknowledged)."""
    low = _words(text)
    if not low:
        return None
    first = re.sub(r"[^a-z']", "", low.split()[0])
    if awaiting == "after_job":
        # AFTER-JOB: only a clear "yes, happy" counts as happy; anything with a problem in it
        # is unhappy, so the team calls rather than a complaint going unheard.
        if _UNHAPPY.search(low) or first in _NO:
            return Reply("unhappy")
        if first in _YES or _HAPPY.search(low):
            return Reply("happy")
        return Reply("unhappy")
    day = find_date(low, today)
    if _CANCEL.search(low) and day is None:
        return Reply("cancel")
    if _CANT.search(low) or _CHANGE.search(low) or first in _NO:
        return Reply("change", day)
    if day is not None and len(low) <= 80:
        return Reply("change", day)
    if first in _YES and len(low.split()) <= 6:
        return Reply("confirm")
    return None
