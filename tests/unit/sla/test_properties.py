"""Property tests (hypothesis) of the working-day arithmetic and clocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from sla import PRESETS, Calendar, Clock, OfficeHours, Unit, to_utc

FAST = settings(max_examples=200, deadline=None, database=None)

CALENDARS = [
    Calendar(),
    Calendar(
        "scotland",
        office_hours=OfficeHours.from_mapping(
            {
                "mon": "08:30-17:15",
                "tue": "08:30-17:15",
                "wed": "08:30-17:15",
                "thu": "08:30-17:15",
                "fri": "08:30-16:45",
            }
        ),
    ),
    Calendar(
        "northern-ireland",
        closures=[date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)],
        office_hours=OfficeHours.from_mapping(
            {"mon": "09:00-17:00", "wed": "10:00-14:30", "fri": "09:00-17:00", "sat": "09:00-12:00"}
        ),
    ),
]
calendars = st.sampled_from(CALENDARS)

LOW, HIGH = datetime(2020, 1, 1), datetime(2035, 12, 31)
# Naive times are London local time; aware ones may be any instant.
moments = st.one_of(
    st.datetimes(min_value=LOW, max_value=HIGH),
    st.datetimes(min_value=LOW, max_value=HIGH, timezones=st.just(UTC)),
)
dates = st.dates(min_value=LOW.date(), max_value=HIGH.date())
working_days = st.integers(min_value=0, max_value=60)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=60))
WORKING_POLICIES = [p for p in PRESETS.values() if p.unit is Unit.WORKING_DAYS]


def within_office_hours(calendar: Calendar, moment: datetime) -> bool:
    hours = calendar.office_hours_on(moment.date())
    return hours is not None and to_utc(hours[0]) < to_utc(moment) <= to_utc(hours[1])


@FAST
@given(calendars, moments, working_days)
def test_a_working_day_deadline_is_close_of_business_on_a_working_day(
    calendar: Calendar, received: datetime, n: int
) -> None:
    due = calendar.add_working_days(received, n)
    assert calendar.is_working_day(due.date())
    hours = calendar.office_hours_on(due.date())
    assert hours is not None and due == hours[1]
    assert to_utc(due) > to_utc(received)
    assert due.date() == calendar.working_day_after(calendar.day_zero(received), n)


@FAST
@given(calendars, moments, st.sampled_from(WORKING_POLICIES))
def test_preset_deadlines_fall_in_office_hours_of_a_working_day(
    calendar: Calendar, received: datetime, policy: object
) -> None:
    assert within_office_hours(calendar, policy.deadline(received, calendar))  # type: ignore[attr-defined]


@FAST
@given(calendars, dates, working_days, working_days)
def test_n_then_m_working_days_is_n_plus_m(calendar: Calendar, day: date, n: int, m: int) -> None:
    after = calendar.working_day_after
    assert after(after(day, n), m) == after(day, n + m)


@FAST
@given(calendars, moments, working_days, working_days)
def test_deadline_then_m_more_working_days(
    calendar: Calendar, received: datetime, n: int, m: int
) -> None:
    first = calendar.add_working_days(received, n)
    assert calendar.add_working_days(received, n + m).date() == calendar.working_day_after(
        first.date(), m
    )


@FAST
@given(calendars, moments, durations, st.sampled_from(sorted(PRESETS)))
def test_later_receipt_never_gives_an_earlier_deadline(
    calendar: Calendar, received: datetime, later_by: timedelta, name: str
) -> None:
    policy = PRESETS[name]
    later = to_utc(received) + later_by
    assert to_utc(policy.deadline(later, calendar)) >= to_utc(policy.deadline(received, calendar))


pauses = st.lists(st.tuples(durations, durations), min_size=1, max_size=4)


@FAST
@given(calendars, moments, st.sampled_from(sorted(PRESETS)), pauses)
def test_pausing_never_shortens_a_clock(
    calendar: Calendar, received: datetime, name: str, gaps: list[tuple[timedelta, timedelta]]
) -> None:
    policy = PRESETS[name]
    clock = Clock.start(policy, received, calendar)
    moment = to_utc(received)
    for running, paused in gaps:
        before = clock.due_at
        moment += running
        clock = clock.pause(moment)
        moment += paused
        clock = clock.resume(moment, policy, calendar)
        assert to_utc(clock.due_at) >= to_utc(before)
        assert clock.paused_seconds >= 0
        assert to_utc(clock.started_at) <= to_utc(clock.warn_at) <= to_utc(clock.due_at)
        if policy.unit is Unit.WORKING_DAYS:
            assert within_office_hours(calendar, clock.due_at)


@FAST
@given(calendars, moments, st.integers(min_value=0, max_value=20_000_000))
def test_add_working_seconds_and_working_seconds_between_round_trip(
    calendar: Calendar, start: datetime, seconds: int
) -> None:
    end = calendar.add_working_seconds(start, seconds)
    assert calendar.working_seconds_between(start, end) == seconds
    back = calendar.add_working_seconds(end, -seconds)
    assert calendar.working_seconds_between(back, end) == seconds


@FAST
@given(calendars, moments, st.floats(min_value=0, max_value=1e7, allow_nan=False))
def test_round_trip_with_fractions_to_the_microsecond(
    calendar: Calendar, start: datetime, seconds: float
) -> None:
    end = calendar.add_working_seconds(start, seconds)
    assert abs(calendar.working_seconds_between(start, end) - seconds) <= 1e-6


@FAST
@given(calendars, moments, moments)
def test_working_seconds_between_is_zero_backwards_and_additive(
    calendar: Calendar, first: datetime, second: datetime
) -> None:
    low, high = sorted((first, second), key=to_utc)
    middle = to_utc(low) + (to_utc(high) - to_utc(low)) / 2
    assert calendar.working_seconds_between(high, low) == 0

    def micros(start: datetime, end: datetime) -> int:
        return round(calendar.working_seconds_between(start, end) * 1_000_000)

    assert micros(low, high) == micros(low, middle) + micros(middle, high)
