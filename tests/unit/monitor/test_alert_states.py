"""When staff are told (issue 18): "due soon" is the last part of each promise's own time
(20 % by default), in working time for a working-day promise; "missed" once it is due."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.service.alerts import BREACHED, DUE_SOON, state_of
from sla import Calendar, Policy
from sla.policies import Unit

CAL = Calendar()
MONDAY_9 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)  # 9am London in December


def test_a_24_hour_promise_is_due_soon_in_its_last_hours() -> None:
    policy = Policy("awaab-emergency", "AWAAB", "test", 24, Unit.HOURS)
    due = MONDAY_9 + timedelta(hours=24)
    at = lambda hours: state_of(policy, CAL, MONDAY_9, due, MONDAY_9 + timedelta(hours=hours), 0.2)  # noqa: E731
    assert at(19) is None
    assert at(19.3) == DUE_SOON
    assert at(23.9) == DUE_SOON
    assert at(24) == BREACHED


def test_a_working_day_promise_counts_working_time() -> None:
    policy = Policy("respond-10", "RESP-10", "test", 10, Unit.WORKING_DAYS)
    due = CAL.add_working_days(MONDAY_9, 10)
    # Its last two working days: from Friday noon the Monday deadline is due soon, although
    # more than 20 % of the calendar fortnight is left (the weekend is not working time).
    thursday = datetime(2026, 12, 17, 9, 0, tzinfo=UTC)
    friday_noon = datetime(2026, 12, 18, 12, 0, tzinfo=UTC)
    assert state_of(policy, CAL, MONDAY_9, due, thursday, 0.2) is None
    assert state_of(policy, CAL, MONDAY_9, due, friday_noon, 0.2) == DUE_SOON
    assert state_of(None, CAL, MONDAY_9, due, friday_noon, 0.2) is None  # elapsed time
    late = due - timedelta(hours=3)
    assert state_of(policy, CAL, MONDAY_9, due, late, 0.2) == DUE_SOON
    assert state_of(policy, CAL, MONDAY_9, due, due + timedelta(seconds=1), 0.2) == BREACHED


def test_the_fraction_is_settable() -> None:
    due = MONDAY_9 + timedelta(hours=10)
    now = MONDAY_9 + timedelta(hours=6)
    assert state_of(None, CAL, MONDAY_9, due, now, 0.2) is None
    assert state_of(None, CAL, MONDAY_9, due, now, 0.5) == DUE_SOON
