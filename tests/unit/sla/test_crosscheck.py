"""Ten years (2020-2030) of add_working_days against an independent computation: numpy's
busday_offset over the same bank holidays (taken straight from the `holidays` package),
for every day of the decade, arriving in office hours and after close, in all three
divisions."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import holidays
import numpy as np
import pytest

from sla import DIVISIONS, Calendar

SUBDIVISIONS = {"england-and-wales": "ENG", "scotland": "SCT", "northern-ireland": "NIR"}
FIRST, LAST = date(2020, 1, 1), date(2030, 12, 31)
OFFSETS = (0, 1, 2, 3, 5, 10, 20)


def holiday_list(division: str) -> np.ndarray:
    table = holidays.country_holidays("GB", subdiv=SUBDIVISIONS[division], years=range(2019, 2033))
    return np.array(sorted(table), dtype="datetime64[D]")


@pytest.mark.parametrize("division", DIVISIONS)
def test_ten_years_against_numpy_busday_offset(division: str) -> None:
    calendar = Calendar(division)
    holiday_days = holiday_list(division)
    days = [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]
    as_numpy = np.array(days, dtype="datetime64[D]")
    next_days = as_numpy + np.timedelta64(1, "D")
    for n in OFFSETS:
        # In office hours: day 0 is the first working day on or after the date.
        expected = np.busday_offset(as_numpy, n, roll="forward", holidays=holiday_days)
        # After close of business: day 0 is the first working day after the date.
        expected_late = np.busday_offset(next_days, n, roll="forward", holidays=holiday_days)
        for day, morning, evening in zip(days, expected, expected_late, strict=True):
            assert calendar.add_working_days(datetime.combine(day, time(10)), n).date() == (
                morning.astype(date)
            ), (division, day, n)
            assert calendar.add_working_days(datetime.combine(day, time(18)), n).date() == (
                evening.astype(date)
            ), (division, day, n)


@pytest.mark.parametrize("division", DIVISIONS)
def test_working_days_per_year_against_numpy(division: str) -> None:
    calendar = Calendar(division)
    holiday_days = holiday_list(division)
    for year in range(2020, 2031):
        start, stop = np.datetime64(f"{year}-01-01"), np.datetime64(f"{year + 1}-01-01")
        expected = int(np.busday_count(start, stop, holidays=holiday_days))
        ours = sum(
            calendar.is_working_day(date(year, 1, 1) + timedelta(days=i))
            for i in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)
        )
        assert ours == expected, (division, year)
