"""Clocks: start, pause and resume (paused working time excluded), extend within the policy's
limit, stop met or breached, and the states running, paused, due soon, breached, met."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta

import pytest

from sla import LONDON, PRESETS, Calendar, Clock, ClockState, SlaError, load_policies

ENGLAND = Calendar()
ACK = PRESETS["ack-2"]
STAGE1 = PRESETS["complaint-stage1-response"]
EMERGENCY = PRESETS["awaab-emergency"]


def london(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=LONDON, fold=fold)  # type: ignore[misc]


# Monday 1 June 2026, 10:00 BST: due Wednesday 3 June 17:00, due soon from 13:48 (the last
# 20 % of 2 working days: 3 hours 12 minutes of office time).
MONDAY = london(2026, 6, 1, 10)


def started() -> Clock:
    return Clock.start(ACK, MONDAY, ENGLAND)


def test_start() -> None:
    clock = started()
    assert clock.policy == "ack-2"
    assert clock.started_at == MONDAY
    assert clock.due_at == london(2026, 6, 3, 17)
    assert clock.warn_at == london(2026, 6, 3, 13, 48)
    assert clock.paused_at is None and clock.paused_seconds == 0
    assert clock.extended_days == 0 and clock.extension_reason is None
    assert clock.stopped_at is None and clock.outcome is None
    assert clock.is_open


def test_start_takes_naive_and_utc_times_as_the_same_instant() -> None:
    naive = Clock.start(ACK, datetime(2026, 6, 1, 10), ENGLAND)
    utc = Clock.start(ACK, datetime(2026, 6, 1, 9, tzinfo=UTC), ENGLAND)
    assert naive == utc == started()
    assert naive.started_at.tzinfo is LONDON


def test_clocks_are_immutable_values() -> None:
    clock = started()
    with pytest.raises(FrozenInstanceError):
        clock.due_at = MONDAY  # type: ignore[misc]
    assert clock.pause(MONDAY + timedelta(hours=1)) is not clock


@pytest.mark.parametrize(
    ("now", "state"),
    [
        (london(2026, 6, 1, 10), ClockState.RUNNING),
        (london(2026, 6, 3, 13, 47), ClockState.RUNNING),
        (london(2026, 6, 3, 13, 48), ClockState.DUE_SOON),  # the last 20 % of 2 days
        (london(2026, 6, 3, 17), ClockState.DUE_SOON),  # still in time at the due time
        (london(2026, 6, 3, 17, 0, 1), ClockState.BREACHED),
        (datetime(2026, 6, 3, 16, 0, 1, tzinfo=UTC), ClockState.BREACHED),  # 17:00:01 BST
    ],
)
def test_states_of_a_running_clock(now: datetime, state: ClockState) -> None:
    assert started().state(now) is state


def test_due_soon_follows_the_configured_warning() -> None:
    # sla.due_soon_fraction 0.25 of 2 working days: the last 4 office hours.
    quarter = load_policies(due_soon_fraction=0.25)["ack-2"]
    clock = Clock.start(quarter, MONDAY, ENGLAND)
    assert clock.warn_at == london(2026, 6, 3, 13)
    assert clock.state(london(2026, 6, 3, 12)) is ClockState.RUNNING
    assert clock.state(london(2026, 6, 3, 13)) is ClockState.DUE_SOON
    # Half of 2 days is a whole day's warning: it starts at the previous close of business.
    half = Clock.start(load_policies(due_soon_fraction=0.5)["ack-2"], MONDAY, ENGLAND)
    assert half.warn_at == london(2026, 6, 2, 17)


def test_due_soon_for_a_24_hour_clock() -> None:
    clock = Clock.start(EMERGENCY, london(2026, 6, 6, 12), ENGLAND)  # a Saturday
    assert clock.due_at == london(2026, 6, 7, 12)
    assert clock.warn_at == london(2026, 6, 7, 7, 12)  # the last 20 % of 24 hours
    assert clock.state(london(2026, 6, 7, 7, 11)) is ClockState.RUNNING
    assert clock.state(london(2026, 6, 7, 7, 12)) is ClockState.DUE_SOON
    assert clock.state(london(2026, 6, 7, 12, 1)) is ClockState.BREACHED


def test_state_in_the_repeated_hour_compares_instants_not_wall_times() -> None:
    # Due 01:30 GMT (the second 01:30); at 01:45 BST (the first) it is 45 minutes early.
    due = london(2026, 10, 25, 1, 30, fold=1)
    clock = Clock("x", london(2026, 10, 24, 1, 30), due, due - timedelta(hours=6))
    assert clock.state(london(2026, 10, 25, 1, 45)) is ClockState.DUE_SOON
    assert clock.state(london(2026, 10, 25, 1, 45, fold=1)) is ClockState.BREACHED


# --------------------------------------------------------------------------- pause / resume


def test_pause_and_resume_exclude_the_paused_working_time() -> None:
    paused = started().pause(london(2026, 6, 2, 10))  # Tuesday 10:00
    assert paused.paused_at == london(2026, 6, 2, 10)
    assert paused.state(london(2026, 6, 4, 12)) is ClockState.PAUSED  # never due while paused
    resumed = paused.resume(london(2026, 6, 4, 10), ACK, ENGLAND)  # Thursday 10:00
    # Paused Tue 10-17 (7h), Wed 9-17 (8h), Thu 9-10 (1h): 16 office hours.
    assert resumed.paused_seconds == 16 * 3600
    assert resumed.paused_at is None
    assert resumed.due_at == london(2026, 6, 5, 17)  # Wednesday close + 16h = Friday close
    assert resumed.warn_at == london(2026, 6, 5, 13, 48)
    assert resumed.state(london(2026, 6, 5, 12)) is ClockState.RUNNING


def test_a_pause_outside_office_hours_adds_nothing() -> None:
    clock = started().pause(london(2026, 6, 5, 18)).resume(london(2026, 6, 8, 8), ACK, ENGLAND)
    assert clock.paused_seconds == 0
    assert clock.due_at == started().due_at


def test_a_pause_over_a_bank_holiday_weekend_counts_working_time_only() -> None:
    clock = Clock.start(ACK, london(2026, 12, 24, 10), ENGLAND)  # due Wed 30 Dec 17:00
    # Paused Christmas Eve 16:00 to Tuesday 29th 10:00: 1h + 1h of office time.
    clock = clock.pause(london(2026, 12, 24, 16)).resume(london(2026, 12, 29, 10), ACK, ENGLAND)
    assert clock.paused_seconds == 2 * 3600
    assert clock.due_at == london(2026, 12, 31, 11)


def test_pauses_accumulate() -> None:
    clock = started()
    clock = clock.pause(london(2026, 6, 1, 11)).resume(london(2026, 6, 1, 13), ACK, ENGLAND)
    clock = clock.pause(london(2026, 6, 2, 9)).resume(london(2026, 6, 2, 12), ACK, ENGLAND)
    assert clock.paused_seconds == 5 * 3600
    assert clock.due_at == london(2026, 6, 4, 14)


def test_pause_twice_and_resume_running_are_no_ops() -> None:
    paused = started().pause(london(2026, 6, 1, 11))
    assert paused.pause(london(2026, 6, 1, 15)) is paused
    clock = started()
    assert clock.resume(london(2026, 6, 2, 10), ACK, ENGLAND) is clock


def test_pause_before_the_start_counts_from_the_start() -> None:
    assert started().pause(london(2026, 6, 1, 8)).paused_at == MONDAY


def test_resume_before_the_pause_adds_nothing() -> None:
    clock = started().pause(london(2026, 6, 2, 10)).resume(london(2026, 6, 2, 9), ACK, ENGLAND)
    assert clock.paused_seconds == 0 and clock.due_at == started().due_at


def test_an_elapsed_clock_pauses_in_clock_time() -> None:
    clock = Clock.start(EMERGENCY, london(2026, 6, 6, 12), ENGLAND)
    clock = clock.pause(london(2026, 6, 6, 14)).resume(
        london(2026, 6, 6, 16, 30), EMERGENCY, ENGLAND
    )
    assert clock.paused_seconds == 2.5 * 3600
    assert clock.due_at == london(2026, 6, 7, 14, 30)


def test_resume_with_another_policy_is_refused() -> None:
    paused = started().pause(london(2026, 6, 2, 10))
    with pytest.raises(SlaError, match="clock runs on policy ack-2, not awaab-emergency"):
        paused.resume(london(2026, 6, 3, 10), EMERGENCY, ENGLAND)


# --------------------------------------------------------------------------- extend


def stage1() -> Clock:
    # Acknowledged Monday 1 June: response due 10 working days later, Monday 15 June.
    return Clock.start(STAGE1, MONDAY, ENGLAND)


def test_extend_within_the_limit() -> None:
    clock = stage1()
    assert clock.due_at == london(2026, 6, 15, 17)
    once = clock.extend(5, "waiting for the contractor's report", STAGE1, ENGLAND)
    assert once.extended_days == 5
    assert once.due_at == london(2026, 6, 22, 17)
    # Due soon for the promise's last 2 of 10 working days (Friday and Monday), not more
    # because the deadline moved: the length is the policy's, not the clock's.
    assert once.warn_at == london(2026, 6, 18, 17)
    twice = once.extend(5, "surveyor off sick", STAGE1, ENGLAND)
    assert twice.extended_days == 10  # the Code's limit, reached exactly
    assert twice.due_at == london(2026, 6, 29, 17)
    assert twice.extension_reason == "waiting for the contractor's report; surveyor off sick"


def test_extend_beyond_the_limit_is_refused() -> None:
    with pytest.raises(SlaError, match="at most 10 working days of extension; 10 left"):
        stage1().extend(11, "too long", STAGE1, ENGLAND)
    used = stage1().extend(8, "first", STAGE1, ENGLAND)
    with pytest.raises(SlaError, match="2 left") as raised:
        used.extend(3, "second", STAGE1, ENGLAND)
    assert isinstance(raised.value, ValueError)


def test_a_policy_without_extensions_refuses_any() -> None:
    with pytest.raises(SlaError, match="at most 0 working days"):
        started().extend(1, "please", ACK, ENGLAND)


@pytest.mark.parametrize(("days", "reason"), [(0, "r"), (-1, "r"), (True, "r"), (2, "  ")])
def test_extend_needs_whole_days_and_a_reason(days: int, reason: str) -> None:
    with pytest.raises(SlaError):
        stage1().extend(days, reason, STAGE1, ENGLAND)


def test_extend_keeps_the_paused_time() -> None:
    clock = stage1().pause(london(2026, 6, 2, 9)).resume(london(2026, 6, 3, 9), STAGE1, ENGLAND)
    assert clock.due_at == london(2026, 6, 16, 17)  # one working day paused
    extended = clock.extend(2, "reason", STAGE1, ENGLAND)
    assert extended.due_at == london(2026, 6, 18, 17)


def test_extend_a_subject_access_request_by_months() -> None:
    sar = PRESETS["sar"]
    clock = Clock.start(sar, london(2026, 1, 5, 10), ENGLAND)
    assert clock.due_at == london(2026, 2, 5, 23, 59, 59)
    extended = clock.extend(2, "complex request", sar, ENGLAND)
    assert extended.due_at == london(2026, 4, 7, 23, 59, 59)  # Easter 5-6 April
    with pytest.raises(SlaError, match="at most 2 months"):
        extended.extend(1, "more", sar, ENGLAND)


# --------------------------------------------------------------------------- stop


def test_stop_in_time_is_met() -> None:
    clock = started().stop(london(2026, 6, 3, 16))
    assert clock.outcome == "met" and clock.stopped_at == london(2026, 6, 3, 16)
    assert not clock.is_open
    assert clock.state(london(2026, 7, 1)) is ClockState.MET


def test_stop_exactly_at_the_due_time_is_met() -> None:
    assert started().stop(london(2026, 6, 3, 17)).outcome == "met"


def test_stop_late_is_breached() -> None:
    clock = started().stop(london(2026, 6, 3, 17, 0, 1))
    assert clock.outcome == "breached"
    assert clock.state(london(2026, 6, 1, 12)) is ClockState.BREACHED


def test_stop_is_idempotent_and_a_stopped_clock_cannot_change() -> None:
    stopped = started().stop(london(2026, 6, 2, 10))
    assert stopped.stop(london(2026, 6, 9, 10)) is stopped
    with pytest.raises(SlaError, match="cannot pause a stopped clock"):
        stopped.pause(london(2026, 6, 2, 11))
    with pytest.raises(SlaError, match="cannot resume"):
        stopped.resume(london(2026, 6, 2, 11), ACK, ENGLAND)
    with pytest.raises(SlaError, match="cannot extend"):
        stopped.extend(1, "r", ACK, ENGLAND)


def test_stopping_a_paused_clock_judges_it_when_it_was_paused() -> None:
    paused = started().pause(london(2026, 6, 2, 10))
    assert paused.stop(london(2026, 6, 20, 10)).outcome == "met"  # paused in time
    late = started().pause(london(2026, 6, 4, 10))  # paused after the due time
    assert late.stop(london(2026, 6, 20, 10)).outcome == "breached"


def test_resuming_a_clock_paused_when_late_does_not_rescue_it() -> None:
    late = started().pause(london(2026, 6, 4, 10)).resume(london(2026, 6, 8, 10), ACK, ENGLAND)
    assert late.state(london(2026, 6, 8, 10)) is ClockState.BREACHED


def test_state_transitions_through_a_life() -> None:
    clock = started()
    seen = [clock.state(london(2026, 6, 1, 12))]
    clock = clock.pause(london(2026, 6, 1, 12))
    seen.append(clock.state(london(2026, 6, 2, 12)))
    clock = clock.resume(london(2026, 6, 2, 12), ACK, ENGLAND)  # 8 working hours later
    seen.append(clock.state(london(2026, 6, 2, 12)))
    seen.append(clock.state(clock.warn_at))
    seen.append(clock.state(clock.due_at + timedelta(seconds=1)))
    seen.append(clock.stop(clock.due_at + timedelta(minutes=5)).state(clock.due_at))
    assert seen == [
        ClockState.RUNNING,
        ClockState.PAUSED,
        ClockState.RUNNING,
        ClockState.DUE_SOON,
        ClockState.BREACHED,
        ClockState.BREACHED,
    ]
    assert clock.due_at == london(2026, 6, 4, 17)


def test_the_holding_response_is_a_clock_too() -> None:
    holding = PRESETS["respond-10-holding"]
    clock = Clock.start(holding, MONDAY, ENGLAND)
    assert clock.due_at == Clock.start(PRESETS["respond-10"], MONDAY, ENGLAND).due_at
    assert clock.stop(london(2026, 6, 15, 9)).outcome == "met"
