"""Plain-language helpers: deadlines in words (CONTACT, plain language)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


def time_in_words(moment: datetime, *, midday: str = "midday") -> str:
    """'5pm', '5:15pm', '9am', 'midday' (Welsh letters keep am/pm too: actions/cymraeg.py)."""
    local = moment.astimezone(LONDON)
    if local.hour == 12 and local.minute == 0:
        return midday
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    return f"{hour}{suffix}" if local.minute == 0 else f"{hour}:{local.minute:02d}{suffix}"


def date_in_words(day: date, *, today: date | None = None) -> str:
    """'Wednesday 30 December', with the year only when it is not this year."""
    text = f"{day:%A} {day.day} {day:%B}"
    if today is not None and day.year != today.year:
        text += f" {day.year}"
    return text


def deadline_in_words(moment: datetime, *, now: datetime | None = None) -> str:
    """'by 5pm on Wednesday 30 December' (Europe/London)."""
    local = moment.astimezone(LONDON)
    today = now.astimezone(LONDON).date() if now is not None else None
    return f"by {time_in_words(local)} on {date_in_words(local.date(), today=today)}"


def team_in_words(name: str) -> str:
    """A team as a resident reads it mid-sentence: 'the Repairs team' (plain language: a
    team is a thing, so it takes 'the'). Names that are not '... team' (a person, 'Customer
    services') are left as they are. A sentence that starts with it is capitalised when the
    message is tidied (actions/acknowledge.py)."""
    stripped = name.strip()
    words = stripped.split()
    if len(words) < 2 or words[-1].lower() != "team" or words[0].lower() == "the":
        return stripped
    return f"the {stripped}"
