"""What is left of a promise in the queue (issue 18): working days for working-day promises
(weekends and bank holidays skipped), clock time for Awaab's Law's 24 hours, and "due soon"
as the last fifth of each promise rather than half a day before every deadline."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from sla import LONDON, PRESETS, Calendar, OfficeHours
from sla.remaining import (
    average_office_day_seconds,
    clock_words,
    due_soon_until,
    is_day_or_less,
    remaining_words,
    working_days_after,
)

ENGLAND = Calendar()


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def left(policy: str, due: datetime, now: datetime) -> str:
    return remaining_words(PRESETS[policy], due, now, ENGLAND)


def test_working_days_left_skip_the_weekend() -> None:
    # Received Friday 10:00; ack-2 is due at close on Tuesday: 2 working days, 4 calendar.
    now = london(2026, 12, 4, 10)
    due = PRESETS["ack-2"].deadline(now, ENGLAND)
    assert due == london(2026, 12, 8, 17)
    assert left("ack-2", due, now) == "2 working days left"
    assert left("ack-2", due, london(2026, 12, 5, 12)) == "2 working days left"  # Saturday
    assert left("ack-2", due, london(2026, 12, 7, 16)) == "1 working day left"


def test_working_days_left_skip_christmas() -> None:
    # 25 and 28 December 2026 are bank holidays: Thursday 24th + 2 is Wednesday 30th.
    now = london(2026, 12, 24, 10)
    due = PRESETS["ack-2"].deadline(now, ENGLAND)
    assert due == london(2026, 12, 30, 17)
    assert left("ack-2", due, now) == "2 working days left"
    assert working_days_after(ENGLAND, now.date(), due.date()) == 2


def test_due_today_and_late() -> None:
    due = london(2026, 12, 7, 17)  # Monday close
    assert (
        left("handoff-3", due, london(2026, 12, 7, 14, 20)) == "due today: 2 hours 40 minutes left"
    )
    assert left("handoff-3", due, london(2026, 12, 7, 18)) == "1 hour late"
    assert left("handoff-3", due, london(2026, 12, 8, 9, 30)) == "1 working day late"
    assert left("handoff-3", due, london(2026, 12, 14, 9, 30)) == "5 working days late"


def test_clock_hours_for_awaabs_law() -> None:
    now = london(2026, 12, 5, 9)  # a Saturday: 24 clock hours, weekends included
    due = PRESETS["awaab-emergency"].deadline(now, ENGLAND)
    assert left("awaab-emergency", due, now) == "24 hours left"
    assert left("awaab-emergency", due, now + timedelta(hours=19, minutes=30)) == (
        "4 hours 30 minutes left"
    )
    assert left("awaab-emergency", due, due + timedelta(minutes=1)) == "1 minute late"


def test_clock_words() -> None:
    assert clock_words(timedelta(seconds=20)) == "1 minute"
    assert clock_words(timedelta(hours=47, minutes=5)) == "47 hours 5 minutes"
    assert clock_words(timedelta(days=2, hours=3)) == "2 days 3 hours"
    assert clock_words(timedelta(days=9, hours=3)) == "9 days"
    assert clock_words(-timedelta(hours=2)) == "2 hours"


@pytest.mark.parametrize(
    ("policy", "lead_working_hours"),
    [("respond-10", 16.0), ("complaint-stage2-response", 32.0), ("asb-urgent-1", 1.6)],
)
def test_due_soon_is_the_last_fifth_of_a_working_day_promise(
    policy: str, lead_working_hours: float
) -> None:
    now = london(2026, 12, 7, 9)  # Monday opening
    until = due_soon_until(PRESETS[policy], now, 0.2, ENGLAND)
    assert ENGLAND.working_seconds_between(now, until) == pytest.approx(lead_working_hours * 3600)


def test_a_long_promise_is_due_soon_days_before_a_short_one() -> None:
    now = london(2026, 12, 7, 9)
    due = london(2026, 12, 9, 17)  # 3 working days away
    assert due <= due_soon_until(PRESETS["complaint-stage2-response"], now, 0.2, ENGLAND)
    assert due > due_soon_until(PRESETS["handoff-3"], now, 0.2, ENGLAND)
    # ... and the share is settable: the last half of a 3-day promise.
    assert due <= due_soon_until(PRESETS["handoff-3"], now, 1.0, ENGLAND)


def test_due_soon_for_elapsed_promises_is_clock_time() -> None:
    now = london(2026, 12, 5, 9)
    assert due_soon_until(PRESETS["awaab-emergency"], now, 0.2, ENGLAND) - now == timedelta(
        hours=4, minutes=48
    )
    assert due_soon_until(PRESETS["email-ack-now"], now, 0.2, ENGLAND) - now == timedelta(minutes=3)


def test_a_working_day_is_the_average_office_day() -> None:
    hours = OfficeHours.from_mapping(
        {"mon": "08:30-17:15", "tue": "08:30-17:15", "wed": "08:30-17:15", "thu": "08:30-17:15",
         "fri": "08:30-16:45"}
    )  # fmt: skip
    assert average_office_day_seconds(Calendar(office_hours=hours)) == pytest.approx(
        (4 * 8.75 + 8.25) * 3600 / 5
    )
    assert average_office_day_seconds(ENGLAND) == 8 * 3600


def test_day_or_less_is_awaabs_emergency_not_the_email_acknowledgement() -> None:
    assert is_day_or_less(PRESETS["awaab-emergency"])
    assert not is_day_or_less(PRESETS["email-ack-now"])  # minutes: a machine's reply
    assert not is_day_or_less(PRESETS["ack-2"])
    assert not is_day_or_less(PRESETS["sar"])


def test_a_deadline_years_away_is_not_counted_day_by_day() -> None:
    now = london(2026, 12, 7, 9)
    assert left("respond-10", now + timedelta(days=900), now) == "more than 400 days left"
