"""Worked examples for the working-day calendar: the issue's examples, Christmas and Easter,
substitute days, the Scottish and Northern Irish holidays, one-off holidays, both
daylight-saving changes, office hours, closures, a GOV.UK file and bad configuration."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest

from sla import (
    DIVISIONS,
    LONDON,
    PRESETS,
    Calendar,
    OfficeHours,
    SlaConfigError,
    SlaError,
    load_bank_holidays_json,
    to_london,
    to_utc,
)

ENGLAND = Calendar()
SCOTLAND = Calendar("scotland")
NORTHERN_IRELAND = Calendar("northern-ireland")
CALENDARS = {
    "england-and-wales": ENGLAND,
    "scotland": SCOTLAND,
    "northern-ireland": NORTHERN_IRELAND,
}
# seeds/003 and /004: the office opens 8.30-17.15 Monday to Thursday, 8.30-16.45 Friday.
LANDLORD_HOURS = OfficeHours.from_mapping(
    {
        "mon": "08:30-17:15",
        "tue": "08:30-17:15",
        "wed": "08:30-17:15",
        "thu": "08:30-17:15",
        "fri": "08:30-16:45",
    }
)


def london(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=LONDON, fold=fold)  # type: ignore[misc]


def iso(moment: datetime) -> str:
    return moment.isoformat()


def names(calendar: Calendar, year: int) -> dict[date, str]:
    return dict(calendar.non_working_days(year))


# --------------------------------------------------------------------------- the rule


def test_monday_morning_plus_two_is_wednesday_close() -> None:
    assert iso(ENGLAND.add_working_days(datetime(2026, 6, 1, 10), 2)) == "2026-06-03T17:00:00+01:00"


def test_friday_evening_plus_two_is_wednesday_close() -> None:
    # Arrives after close of business: day 0 is Monday.
    assert ENGLAND.day_zero(datetime(2026, 6, 5, 18)) == date(2026, 6, 8)
    assert iso(ENGLAND.add_working_days(datetime(2026, 6, 5, 18), 2)) == "2026-06-10T17:00:00+01:00"


@pytest.mark.parametrize(
    ("received", "day_zero"),
    [
        (datetime(2026, 6, 1, 7, 0), date(2026, 6, 1)),  # before opening: that day
        (datetime(2026, 6, 1, 16, 59, 59), date(2026, 6, 1)),
        (datetime(2026, 6, 1, 17, 0), date(2026, 6, 2)),  # at close: the next working day
        (datetime(2026, 6, 6, 11, 0), date(2026, 6, 8)),  # Saturday: Monday
        (datetime(2026, 6, 7, 23, 59), date(2026, 6, 8)),  # Sunday night: Monday
    ],
)
def test_day_zero(received: datetime, day_zero: date) -> None:
    assert ENGLAND.day_zero(received) == day_zero


def test_zero_working_days_is_close_of_day_zero() -> None:
    assert iso(ENGLAND.add_working_days(datetime(2026, 6, 1, 8), 0)) == "2026-06-01T17:00:00+01:00"
    assert iso(ENGLAND.add_working_days(datetime(2026, 6, 6, 8), 0)) == "2026-06-08T17:00:00+01:00"


def test_aware_times_are_converted_to_london_first() -> None:
    # 16:30 UTC is 17:30 BST: after close, so day 0 is Tuesday.
    received = datetime(2026, 6, 1, 16, 30, tzinfo=UTC)
    assert iso(ENGLAND.add_working_days(received, 1)) == "2026-06-03T17:00:00+01:00"
    # 16:30 UTC in January is 16:30 GMT: before close, day 0 is that Monday.
    winter = datetime(2026, 1, 5, 16, 30, tzinfo=UTC)
    assert iso(ENGLAND.add_working_days(winter, 1)) == "2026-01-06T17:00:00+00:00"


def test_negative_days_are_refused() -> None:
    with pytest.raises(SlaError, match="0 or more"):
        ENGLAND.add_working_days(datetime(2026, 6, 1, 10), -1)
    with pytest.raises(SlaError, match="0 or more"):
        ENGLAND.working_day_after(date(2026, 6, 1), -1)


def test_working_day_after_counts_from_day_zero() -> None:
    assert ENGLAND.working_day_after(date(2026, 6, 5), 0) == date(2026, 6, 5)  # Friday
    assert ENGLAND.working_day_after(date(2026, 6, 5), 1) == date(2026, 6, 8)
    assert ENGLAND.working_day_after(date(2026, 6, 6), 0) == date(2026, 6, 8)  # Saturday
    assert ENGLAND.working_day_after(date(2026, 6, 6), 1) == date(2026, 6, 9)  # like a message


def test_years_far_out_are_refused_not_hung() -> None:
    with pytest.raises(SlaError, match="between 1900 and 2300"):
        ENGLAND.add_working_days(datetime(1850, 1, 1, 10), 1)


def test_deadlines_far_ahead_extend_the_span() -> None:
    calendar = Calendar()
    assert calendar.add_working_days(datetime(2026, 1, 5, 10), 2000).year == 2033
    assert not calendar.is_working_day(date(2040, 1, 2))  # New Year (observed)
    assert calendar.is_working_day(date(2040, 1, 3))


# --------------------------------------------------------------------------- bank holidays


def test_christmas_2026_with_boxing_day_substitute() -> None:
    assert names(ENGLAND, 2026)[date(2026, 12, 25)] == "Christmas Day"
    assert date(2026, 12, 28) in names(ENGLAND, 2026)  # Boxing Day (Saturday) moved to Monday
    received = datetime(2026, 12, 24, 10)  # Thursday
    assert iso(ENGLAND.add_working_days(received, 1)) == "2026-12-29T17:00:00+00:00"
    assert iso(ENGLAND.add_working_days(received, 2)) == "2026-12-30T17:00:00+00:00"
    # Christmas Eve after close: day 0 is Tuesday 29th.
    assert iso(ENGLAND.add_working_days(datetime(2026, 12, 24, 17, 30), 2)) == (
        "2026-12-31T17:00:00+00:00"
    )


def test_christmas_2027_with_two_substitute_days() -> None:
    days = names(ENGLAND, 2027)
    assert date(2027, 12, 27) in days and date(2027, 12, 28) in days
    assert date(2027, 12, 25) not in days  # a Saturday: not a day the office would open
    received = datetime(2027, 12, 24, 10)  # Friday
    assert iso(ENGLAND.add_working_days(received, 1)) == "2027-12-29T17:00:00+00:00"


def test_bank_holidays_keep_the_weekend_date_and_its_substitute() -> None:
    listed = dict(ENGLAND.bank_holidays(2027))
    assert date(2027, 12, 25) in listed and date(2027, 12, 27) in listed


def test_england_2026_and_2027_match_gov_uk() -> None:
    # domain.md, from GOV.UK.
    assert sorted(names(ENGLAND, 2026)) == [
        date(2026, 1, 1), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 4),
        date(2026, 5, 25), date(2026, 8, 31), date(2026, 12, 25), date(2026, 12, 28),
    ]  # fmt: skip
    assert sorted(names(ENGLAND, 2027)) == [
        date(2027, 1, 1), date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 3),
        date(2027, 5, 31), date(2027, 8, 30), date(2027, 12, 27), date(2027, 12, 28),
    ]  # fmt: skip


def test_easter_2026() -> None:
    received = datetime(2026, 4, 2, 10)  # Maundy Thursday
    # Good Friday 3 April and Easter Monday 6 April.
    assert iso(ENGLAND.add_working_days(received, 1)) == "2026-04-07T17:00:00+01:00"
    # Scotland has no Easter Monday.
    assert iso(SCOTLAND.add_working_days(received, 1)) == "2026-04-06T17:00:00+01:00"
    assert iso(NORTHERN_IRELAND.add_working_days(received, 1)) == "2026-04-07T17:00:00+01:00"


def test_easter_2027_just_after_the_clocks_go_forward() -> None:
    received = datetime(2027, 3, 25, 10)  # Thursday, GMT
    # Good Friday 26 March, clocks change 28 March, Easter Monday 29 March.
    assert iso(ENGLAND.add_working_days(received, 1)) == "2027-03-30T17:00:00+01:00"
    assert iso(SCOTLAND.add_working_days(received, 1)) == "2027-03-29T17:00:00+01:00"


def test_scotland_second_of_january() -> None:
    received = datetime(2025, 12, 31, 10)  # Wednesday
    assert iso(ENGLAND.add_working_days(received, 1)) == "2026-01-02T17:00:00+00:00"
    assert iso(SCOTLAND.add_working_days(received, 1)) == "2026-01-05T17:00:00+00:00"
    # 2 January 2027 is a Saturday: Scotland's substitute is Monday 4 January.
    assert date(2027, 1, 4) in names(SCOTLAND, 2027)
    assert date(2027, 1, 4) not in names(ENGLAND, 2027)


def test_scotland_august_holiday_is_the_first_monday() -> None:
    assert date(2026, 8, 3) in names(SCOTLAND, 2026)
    assert date(2026, 8, 31) not in names(SCOTLAND, 2026)


def test_st_andrews_day_on_a_monday() -> None:
    assert date(2026, 11, 30) in names(SCOTLAND, 2026)
    received = datetime(2026, 11, 27, 10)  # Friday
    assert iso(SCOTLAND.add_working_days(received, 1)) == "2026-12-01T17:00:00+00:00"
    assert iso(ENGLAND.add_working_days(received, 1)) == "2026-11-30T17:00:00+00:00"


@pytest.mark.parametrize(
    ("sunday_or_saturday", "substitute"),
    [(date(2025, 11, 30), date(2025, 12, 1)), (date(2030, 11, 30), date(2030, 12, 2))],
)
def test_st_andrews_day_on_a_weekend_moves_to_monday(
    sunday_or_saturday: date, substitute: date
) -> None:
    assert sunday_or_saturday.weekday() >= 5
    assert substitute in names(SCOTLAND, substitute.year)
    assert not SCOTLAND.is_working_day(substitute)
    assert ENGLAND.is_working_day(substitute)


def test_st_patricks_day() -> None:
    assert date(2026, 3, 17) in names(NORTHERN_IRELAND, 2026)
    received = datetime(2026, 3, 16, 10)  # Monday
    assert iso(NORTHERN_IRELAND.add_working_days(received, 1)) == "2026-03-18T17:00:00+00:00"
    assert iso(ENGLAND.add_working_days(received, 1)) == "2026-03-17T17:00:00+00:00"
    # 2024: a Sunday, so Monday 18th.
    assert not NORTHERN_IRELAND.is_working_day(date(2024, 3, 18))


def test_twelfth_of_july() -> None:
    # 2026: a Sunday, so Monday 13th; 2027: a Monday.
    assert date(2026, 7, 13) in names(NORTHERN_IRELAND, 2026)
    received = datetime(2027, 7, 9, 10)  # Friday
    assert iso(NORTHERN_IRELAND.add_working_days(received, 1)) == "2027-07-13T17:00:00+01:00"
    assert iso(ENGLAND.add_working_days(received, 1)) == "2027-07-12T17:00:00+01:00"


@pytest.mark.parametrize("division", DIVISIONS)
@pytest.mark.parametrize(
    ("friday", "one_off", "next_day"),
    [
        (date(2022, 9, 16), date(2022, 9, 19), date(2022, 9, 20)),  # state funeral
        (date(2023, 5, 5), date(2023, 5, 8), date(2023, 5, 9)),  # coronation
    ],
)
def test_one_off_holidays(division: str, friday: date, one_off: date, next_day: date) -> None:
    calendar = CALENDARS[division]
    assert one_off in names(calendar, one_off.year)
    deadline = calendar.add_working_days(datetime.combine(friday, time(10)), 1)
    assert deadline.date() == next_day


# --------------------------------------------------------------------------- daylight saving


def test_working_days_across_the_spring_change() -> None:
    received = datetime(2026, 3, 27, 10)  # Friday, GMT; clocks go forward Sunday 29th
    assert iso(ENGLAND.add_working_days(received, 1)) == "2026-03-30T17:00:00+01:00"


def test_working_days_across_the_autumn_change() -> None:
    received = datetime(2026, 10, 23, 10)  # Friday, BST; clocks go back Sunday 25th
    assert iso(ENGLAND.add_working_days(received, 1)) == "2026-10-26T17:00:00+00:00"


def test_working_seconds_are_office_hours_across_a_change() -> None:
    start = london(2026, 3, 27, 9)
    end = london(2026, 3, 30, 17)
    assert ENGLAND.working_seconds_between(start, end) == 16 * 3600
    assert ENGLAND.add_working_seconds(start, 16 * 3600) == end
    autumn = ENGLAND.working_seconds_between(london(2026, 10, 23, 9), london(2026, 10, 26, 17))
    assert autumn == 16 * 3600


def test_message_in_the_repeated_hour() -> None:
    first = london(2026, 10, 25, 1, 30)  # 01:30 BST = 00:30 UTC
    second = london(2026, 10, 25, 1, 30, fold=1)  # 01:30 GMT = 01:30 UTC
    assert to_utc(first) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert to_utc(second) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    # A Sunday either way: day 0 is Monday.
    for received in (first, second, first.astimezone(UTC), second.astimezone(UTC)):
        assert iso(ENGLAND.add_working_days(received, 2)) == "2026-10-28T17:00:00+00:00"
    # Elapsed hours count real time: the two are an hour apart.
    emergency = PRESETS["awaab-emergency"]
    assert iso(emergency.deadline(first, ENGLAND)) == "2026-10-26T00:30:00+00:00"
    assert iso(emergency.deadline(second, ENGLAND)) == "2026-10-26T01:30:00+00:00"
    # A naive time in the repeated hour is the first one (fold 0), as zoneinfo reads it.
    assert to_utc(datetime(2026, 10, 25, 1, 30)) == to_utc(first)


def test_a_24_hour_clock_across_the_changes() -> None:
    emergency = PRESETS["awaab-emergency"]
    # Autumn: 24 real hours from Saturday noon BST is Sunday 11:00 GMT.
    assert iso(emergency.deadline(london(2026, 10, 24, 12), ENGLAND)) == (
        "2026-10-25T11:00:00+00:00"
    )
    # Spring: 24 real hours from Saturday noon GMT is Sunday 13:00 BST.
    assert iso(emergency.deadline(london(2026, 3, 28, 12), ENGLAND)) == (
        "2026-03-29T13:00:00+01:00"
    )
    for received in (london(2026, 10, 24, 12), london(2026, 3, 28, 12)):
        elapsed = to_utc(emergency.deadline(received, ENGLAND)) - to_utc(received)
        assert elapsed == timedelta(hours=24)


def test_to_london_reads_naive_as_london_and_converts_aware() -> None:
    assert to_london(datetime(2026, 7, 1, 12)).utcoffset() == timedelta(hours=1)
    assert to_london(datetime(2026, 7, 1, 12, tzinfo=UTC)).hour == 13


# --------------------------------------------------------------------------- office hours


LANDLORD = Calendar(office_hours=LANDLORD_HOURS)


def test_landlord_hours_set_close_of_business() -> None:
    assert iso(LANDLORD.add_working_days(datetime(2026, 6, 4, 10), 0)) == (
        "2026-06-04T17:15:00+01:00"
    )  # Thursday
    assert iso(LANDLORD.add_working_days(datetime(2026, 6, 5, 10), 0)) == (
        "2026-06-05T16:45:00+01:00"
    )  # Friday
    assert iso(LANDLORD.add_working_days(datetime(2026, 6, 1, 10), 4)) == (
        "2026-06-05T16:45:00+01:00"
    )


def test_landlord_hours_decide_day_zero() -> None:
    # Friday 16:50 is after the Friday close, though before 17:00.
    assert LANDLORD.day_zero(datetime(2026, 6, 5, 16, 50)) == date(2026, 6, 8)
    assert ENGLAND.day_zero(datetime(2026, 6, 5, 16, 50)) == date(2026, 6, 5)
    # Thursday 17:10 is still open.
    assert LANDLORD.day_zero(datetime(2026, 6, 4, 17, 10)) == date(2026, 6, 4)


def test_is_open_and_day_length() -> None:
    assert LANDLORD.is_open(datetime(2026, 6, 5, 16, 44))
    assert not LANDLORD.is_open(datetime(2026, 6, 5, 16, 45))
    assert not LANDLORD.is_open(datetime(2026, 6, 5, 8, 29))
    assert LANDLORD.is_open(datetime(2026, 6, 5, 8, 30))
    assert not LANDLORD.is_open(datetime(2026, 12, 25, 10))
    assert not LANDLORD.is_open(datetime(2026, 6, 6, 10))
    assert LANDLORD.working_day_seconds(date(2026, 6, 4)) == 8 * 3600 + 45 * 60
    assert LANDLORD.working_day_seconds(date(2026, 6, 5)) == 8 * 3600 + 15 * 60
    assert LANDLORD.working_day_seconds(date(2026, 6, 6)) == 0
    assert LANDLORD.office_hours_on(date(2026, 6, 5)) == (
        london(2026, 6, 5, 8, 30),
        london(2026, 6, 5, 16, 45),
    )
    assert LANDLORD.office_hours_on(date(2026, 12, 25)) is None


def test_office_hours_describe_and_defaults() -> None:
    assert LANDLORD_HOURS.describe() == (
        "mon 08:30-17:15, tue 08:30-17:15, wed 08:30-17:15, thu 08:30-17:15, fri 08:30-16:45"
    )
    assert OfficeHours.default().hours_on(0) == (time(9), time(17))
    assert OfficeHours.default().hours_on(5) is None


def test_office_hours_accept_day_names_closed_days_and_midnight() -> None:
    hours = OfficeHours.from_mapping(
        {"Monday": "08:00-24:00", "tue": "closed", "sat": "09:00–12:00", "sun": None}
    )
    assert hours.hours_on(0) == (time(8), time(23, 59, 59))
    assert hours.hours_on(1) is None
    assert hours.hours_on(5) == (time(9), time(12))
    calendar = Calendar(office_hours=hours)
    # Saturday morning counts; Tuesday to Friday do not.
    assert calendar.day_zero(datetime(2026, 6, 2, 10)) == date(2026, 6, 6)


def test_a_saturday_office_still_closes_on_a_saturday_bank_holiday() -> None:
    hours = OfficeHours.from_mapping({"sat": "09:00-12:00", "mon": "09:00-17:00"})
    calendar = Calendar(office_hours=hours)
    assert not calendar.is_working_day(date(2027, 12, 25))  # Christmas Day, a Saturday
    assert date(2027, 12, 25) in dict(calendar.non_working_days(2027))


# --------------------------------------------------------------------------- closures


def test_closures_between_christmas_and_new_year() -> None:
    closures = [date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)]
    calendar = Calendar(closures=closures)
    received = datetime(2026, 12, 24, 10)
    assert iso(calendar.add_working_days(received, 1)) == "2027-01-04T17:00:00+00:00"
    listed = dict(calendar.non_working_days(2026))
    assert listed[date(2026, 12, 29)] == "Office closed"
    assert not calendar.is_working_day(date(2026, 12, 30))


def test_closures_with_names_from_configuration() -> None:
    calendar = Calendar(
        closures={"2026-07-03": "Staff training", date(2026, 7, 4): "Saturday (ignored)"}
    )
    listed = dict(calendar.non_working_days(2026))
    assert listed[date(2026, 7, 3)] == "Staff training"
    assert date(2026, 7, 4) not in listed  # a weekend day is never a working day anyway
    assert iso(calendar.add_working_days(datetime(2026, 7, 2, 10), 1)) == (
        "2026-07-06T17:00:00+01:00"
    )


def test_a_closure_on_a_bank_holiday_lists_both_names() -> None:
    calendar = Calendar(closures={date(2026, 12, 25): "Office closed"})
    assert dict(calendar.non_working_days(2026))[date(2026, 12, 25)] == (
        "Christmas Day; Office closed"
    )


# --------------------------------------------------------------------------- GOV.UK file


def gov_uk_file(events_2026: list[tuple[str, str]]) -> str:
    """A bank-holidays.json as GOV.UK publishes it, covering 2026 only."""

    def division(name: str) -> dict[str, object]:
        return {
            "division": name,
            "events": [
                {"title": title, "date": day, "notes": "", "bunting": True}
                for day, title in events_2026
            ],
        }

    return json.dumps({name: division(name) for name in DIVISIONS})


def test_a_gov_uk_file_wins_over_the_package_for_the_years_it_covers() -> None:
    data = load_bank_holidays_json(
        gov_uk_file(
            [
                ("2026-01-01", "New Year’s Day"),
                ("2026-12-25", "Christmas Day"),
                ("2026-12-28", "Boxing Day"),
                ("2026-12-29", "Extra bank holiday"),  # not in the package
            ]
        )
    )
    calendar = Calendar(bank_holidays=data)
    assert sorted(dict(calendar.non_working_days(2026))) == [
        date(2026, 1, 1), date(2026, 12, 25), date(2026, 12, 28), date(2026, 12, 29),
    ]  # fmt: skip
    # Easter Monday is not in the file, so it is a working day for this landlord.
    assert calendar.is_working_day(date(2026, 4, 6))
    assert iso(calendar.add_working_days(datetime(2026, 12, 24, 10), 1)) == (
        "2026-12-30T17:00:00+00:00"
    )
    # 2027 is not in the file: the package answers.
    assert dict(calendar.non_working_days(2027)) == dict(ENGLAND.non_working_days(2027))
    assert "bank_holidays=file" in repr(calendar)


def test_a_gov_uk_file_same_day_twice_keeps_both_titles() -> None:
    data = load_bank_holidays_json(
        gov_uk_file([("2026-12-25", "Christmas Day"), ("2026-12-25", "Something else")])
    )
    assert dict(Calendar(bank_holidays=data).bank_holidays(2026)) == {
        date(2026, 12, 25): "Christmas Day; Something else"
    }


# --------------------------------------------------------------------------- bad config


@pytest.mark.parametrize(
    ("build", "key"),
    [
        (lambda: Calendar("wales"), "division: unknown division 'wales'; accepted: england"),
        (lambda: OfficeHours.from_mapping({"mon": "9-5"}), "office_hours.mon"),
        (lambda: OfficeHours.from_mapping({"mon": "17:00-09:00"}), "office_hours.mon"),
        (lambda: OfficeHours.from_mapping({"fri": 9}), "office_hours.fri"),
        (lambda: OfficeHours.from_mapping({"mon": "09:00-25:00"}), "office_hours.mon"),
        (lambda: OfficeHours.from_mapping({"funday": "09:00-17:00"}), "unknown day 'funday'"),
        (lambda: OfficeHours.from_mapping({}), "office_hours: no day is open"),
        (lambda: OfficeHours((None,) * 6), "office_hours: expected 7 weekdays"),
        (lambda: Calendar(closures=["next tuesday"]), "closures[0]"),
        (lambda: Calendar(closures=[date(2026, 1, 2), 5]), "closures[1]"),
        (lambda: load_bank_holidays_json("{not json"), "bank_holidays: not valid JSON"),
        (lambda: load_bank_holidays_json("[]"), "bank_holidays: expected an object"),
        (
            lambda: Calendar("scotland", bank_holidays={"england-and-wales": {"events": []}}),
            "bank_holidays.scotland: missing",
        ),
        (
            lambda: Calendar(bank_holidays={"england-and-wales": {"events": [{"date": "x"}]}}),
            "bank_holidays.england-and-wales.events[0].date",
        ),
        (
            lambda: Calendar(bank_holidays={"england-and-wales": {"events": ["2026-01-01"]}}),
            "bank_holidays.england-and-wales.events[0]",
        ),
    ],
)
def test_bad_configuration_names_the_key(build: object, key: str) -> None:
    with pytest.raises(SlaConfigError) as raised:
        build()  # type: ignore[operator]
    assert key in str(raised.value)
    assert isinstance(raised.value, ValueError)  # SlaError is a ValueError
