"""Dates, times and deadlines in Welsh, for the messages residents read (Cymraeg; the Welsh
Language Standards ask for correspondence in Welsh to be answered in Welsh).

"erbyn 5pm ddydd Mercher 30 Rhagfyr": after "erbyn" the day is an adverb of time and takes
the soft mutation (dydd -> ddydd), as Welsh councils' bilingual letters write it. Times keep
the am/pm form those letters use; midday is "hanner dydd". A fluent speaker should review
the wording (docs/cymraeg.md says what was checked and how).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from actions import wording

LONDON = ZoneInfo("Europe/London")

WEEKDAYS = ("Llun", "Mawrth", "Mercher", "Iau", "Gwener", "Sadwrn", "Sul")
MONTHS = (
    "Ionawr",
    "Chwefror",
    "Mawrth",
    "Ebrill",
    "Mai",
    "Mehefin",
    "Gorffennaf",
    "Awst",
    "Medi",
    "Hydref",
    "Tachwedd",
    "Rhagfyr",
)


def time_in_words(moment: datetime) -> str:
    """'5pm', '5:15pm', '9am', 'hanner dydd'."""
    return wording.time_in_words(moment, midday="hanner dydd")


def date_in_words(day: date, *, today: date | None = None, mutated: bool = False) -> str:
    """'dydd Mercher 30 Rhagfyr' ('ddydd ...' after a preposition of time), with the year only
    when it is not this year."""
    weekday = ("ddydd " if mutated else "dydd ") + WEEKDAYS[day.weekday()]
    text = f"{weekday} {day.day} {MONTHS[day.month - 1]}"
    if today is not None and day.year != today.year:
        text += f" {day.year}"
    return text


def deadline_in_words(moment: datetime, *, now: datetime | None = None) -> str:
    """'erbyn 5pm ddydd Mercher 30 Rhagfyr' (Europe/London)."""
    local = moment.astimezone(LONDON)
    today = now.astimezone(LONDON).date() if now is not None else None
    day = date_in_words(local.date(), today=today, mutated=True)
    return f"erbyn {time_in_words(local)} {day}"
