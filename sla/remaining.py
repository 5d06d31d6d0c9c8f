"""What is left of a promise, as staff read it in the queue: working days for a working-day
promise, clock time for the others, and when "due soon" begins.

"Due soon" is the one rule of sla/due_soon.py (the last `sla.due_soon_fraction` of the
promise), re-exported here for the queue.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sla.calendar import Calendar, to_london, to_utc
from sla.due_soon import (  # the one "due soon" rule, here for the queue's callers
    DEFAULT_DUE_SOON_FRACTION,
    average_office_day_seconds,
    due_soon_until,
)
from sla.policies import Policy, Unit

__all__ = [
    "DEFAULT_DUE_SOON_FRACTION",
    "average_office_day_seconds",
    "clock_words",
    "due_soon_until",
    "is_day_or_less",
    "remaining_words",
    "working_days_after",
]

_COUNT_LIMIT = 400  # days walked to count working days; a deadline further off is "many"


def is_day_or_less(policy: Policy) -> bool:
    """A promise kept in clock hours within a day (Awaab's Law emergencies: 24 hours). Minute
    targets are acknowledgements sent by machine ("immediately"), not work for staff."""
    return policy.unit is Unit.HOURS and policy.amount <= 24


def working_days_after(calendar: Calendar, first: date, last: date) -> int | None:
    """How many working days d there are with first < d <= last (None: too many to count)."""
    count, day = 0, first
    for _ in range(_COUNT_LIMIT):
        if day >= last:
            return count
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            count += 1
    return None


def clock_words(delta: timedelta) -> str:
    """'3 hours 20 minutes', '24 hours', '2 days 4 hours', '1 minute' (no sign). Under two
    days in hours: a 24-hour clock reads "23 hours 10 minutes left", not "1 day"."""
    total = int(abs(delta).total_seconds())
    days, rest = divmod(total, 86_400)
    if days < 2:
        days, rest = 0, total
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts: list[str] = []
    if days:
        parts.append(_plural(days, "day"))
    if hours and days < 3:
        parts.append(_plural(hours, "hour"))
    if not days and (minutes or not hours):
        parts.append(_plural(max(minutes, 1), "minute"))
    return " ".join(parts)


def remaining_words(
    policy: Policy | None, due_at: datetime, now: datetime, calendar: Calendar
) -> str:
    """What is left, in the promise's own unit: '3 working days left', 'due today: 2 hours
    40 minutes left', '1 working day late', '5 hours 12 minutes left' (clock hours)."""
    delta = to_utc(due_at) - to_utc(now)
    late = delta < timedelta(0)
    if policy is None or policy.unit is not Unit.WORKING_DAYS:
        return f"{clock_words(delta)} {'late' if late else 'left'}"
    today, due_day = to_london(now).date(), to_london(due_at).date()
    if not late:
        days = working_days_after(calendar, today, due_day)
        if days is None:
            return f"more than {_COUNT_LIMIT} days left"
        if days == 0:
            return f"due today: {clock_words(delta)} left"
        return f"{_plural(days, 'working day')} left"
    days = working_days_after(calendar, due_day, today)
    if days is None:
        return f"more than {_COUNT_LIMIT} days late"
    if days == 0:
        return f"{clock_words(delta)} late"
    return f"{_plural(days, 'working day')} late"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
