"""Working-day calendars: UK bank holidays per GOV.UK division, a landlord's own closure days
and office hours, all in Europe/London.

Working time is measured on the office's wall clock: 09:00-17:00 is eight hours on every
working day, including the two days a year the clocks change (they change at night, outside
any office hours). Instants are converted to London time before any calendar question is
asked, so an aware UTC datetime and a naive London one mean what they say.

Each calendar keeps a lazily built, precomputed span of whole years: the ordinals of its
working days, each day's opening and closing second, the cumulative working seconds at each
opening, and for every date of the span the index of the first working day on or after it.
Adding N working days is then two list lookups, and moving by working seconds a bisection.
"""

from __future__ import annotations

import bisect
import json
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays

from sla.errors import SlaConfigError, SlaError

LONDON = ZoneInfo("Europe/London")

# GOV.UK's division names, in the order GOV.UK lists them, and the `holidays` subdivision
# that carries each one's bank holidays (Wales shares England's).
DIVISIONS: tuple[str, ...] = ("england-and-wales", "scotland", "northern-ireland")
_SUBDIVISIONS = {"england-and-wales": "ENG", "scotland": "SCT", "northern-ireland": "NIR"}

WEEKDAY_KEYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Years outside this range are certainly a bad input (a mistyped year), not a real deadline.
_MIN_YEAR = 1900
_MAX_YEAR = 2300


def to_london(moment: datetime) -> datetime:
    """The same instant in Europe/London; a naive datetime is taken as London local time."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=LONDON)
    return moment.astimezone(LONDON)


def to_utc(moment: datetime) -> datetime:
    """The same instant in UTC (naive means London). Compare and subtract in UTC: Python
    compares two datetimes sharing one tzinfo by wall time, which is wrong in the repeated
    hour when the clocks go back."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    return moment.astimezone(UTC)


_MICROS = 1_000_000


def _london_at(ordinal: int, seconds: int) -> datetime:
    day = date.fromordinal(ordinal)
    return datetime(
        day.year, day.month, day.day, seconds // 3600, seconds // 60 % 60, seconds % 60,
        tzinfo=LONDON,
    )  # fmt: skip


def _london_at_micros(ordinal: int, micros: int) -> datetime:
    seconds, fraction = divmod(micros, _MICROS)
    if not fraction:
        return _london_at(ordinal, seconds)
    # Aware + timedelta is wall-clock arithmetic, which is what office seconds are.
    day = date.fromordinal(ordinal)
    return datetime(day.year, day.month, day.day, tzinfo=LONDON) + timedelta(microseconds=micros)


def _seconds_of_day(local: datetime) -> float:
    whole = local.hour * 3600 + local.minute * 60 + local.second
    return whole + local.microsecond / _MICROS if local.microsecond else whole


def _micros_of_day(local: datetime) -> int:
    return (local.hour * 3600 + local.minute * 60 + local.second) * _MICROS + local.microsecond


# --------------------------------------------------------------------------- office hours


def _parse_clock_time(text: str) -> time:
    hours, sep, minutes = text.strip().partition(":")
    if not (sep and hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(text)
    value = int(hours), int(minutes)
    if value == (24, 0):  # "until midnight" is a meaningful close
        return time(23, 59, 59)
    return time(*value)


def _time_seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """Opening and closing time for each weekday, Monday first; None means closed all day.

    A weekday without hours is never a working day, whatever the bank holidays say.
    """

    days: tuple[tuple[time, time] | None, ...]

    def __post_init__(self) -> None:
        if len(self.days) != 7:
            raise SlaConfigError(
                f"office_hours: expected 7 weekdays (mon..sun), got {len(self.days)}"
            )
        for key, span in zip(WEEKDAY_KEYS, self.days, strict=True):
            if span is not None and not span[0] < span[1]:
                raise SlaConfigError(
                    f"office_hours.{key}: opens at {span[0]:%H:%M} but closes at "
                    f"{span[1]:%H:%M}; the closing time must be later"
                )
        if all(span is None for span in self.days):
            raise SlaConfigError(
                "office_hours: no day is open; give at least one of "
                f"{', '.join(WEEKDAY_KEYS)} as HH:MM-HH:MM"
            )

    @classmethod
    def default(cls) -> OfficeHours:
        """Monday to Friday, 09:00 to 17:00."""
        span = (time(9), time(17))
        return cls((span, span, span, span, span, None, None))

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object]) -> OfficeHours:
        """From configuration such as {"mon": "08:30-17:15", ..., "fri": "08:30-16:45"}.

        Keys are mon..sun (or full day names, any case); values "HH:MM-HH:MM", or None,
        "" or "closed" for a closed day. Days not given are closed.
        """
        days: list[tuple[time, time] | None] = [None] * 7
        for raw_key, value in mapping.items():
            key = str(raw_key).strip().lower()
            if key in WEEKDAY_KEYS:
                index = WEEKDAY_KEYS.index(key)
            elif key in _WEEKDAY_NAMES:
                index = _WEEKDAY_NAMES.index(key)
            else:
                raise SlaConfigError(
                    f"office_hours: unknown day {raw_key!r}; accepted: {', '.join(WEEKDAY_KEYS)}"
                )
            days[index] = _parse_span(f"office_hours.{WEEKDAY_KEYS[index]}", value)
        return cls(tuple(days))

    def hours_on(self, weekday: int) -> tuple[time, time] | None:
        """The (open, close) times for a weekday (0 = Monday), or None when closed."""
        return self.days[weekday]

    def describe(self) -> str:
        parts = []
        for key, span in zip(WEEKDAY_KEYS, self.days, strict=True):
            if span is not None:
                parts.append(f"{key} {span[0]:%H:%M}-{span[1]:%H:%M}")
        return ", ".join(parts)


def _parse_span(where: str, value: object) -> tuple[time, time] | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "closed")):
        return None
    accepted = "a range like 08:30-17:15, or 'closed'"
    if not isinstance(value, str):
        raise SlaConfigError(f"{where}: {value!r} is not {accepted}")
    opening, sep, closing = value.replace("–", "-").partition("-")
    try:
        if not sep:
            raise ValueError(value)
        start, end = _parse_clock_time(opening), _parse_clock_time(closing)
    except ValueError:
        raise SlaConfigError(f"{where}: {value!r} is not {accepted}") from None
    if not start < end:
        raise SlaConfigError(f"{where}: {value!r} closes before it opens; accepted: {accepted}")
    return start, end


# --------------------------------------------------------------------------- bank holidays


@lru_cache(maxsize=1024)
def _package_holidays(division: str, year: int) -> tuple[tuple[date, str], ...]:
    """Bank holidays from the `holidays` package, cached per (division, year).

    Always with a subdivision: without one the package omits Easter Monday and the August
    holiday. It lists a weekend holiday's own date and its "(observed)" weekday twin; the
    weekend date is closed anyway, so both are kept and only the weekday matters.
    """
    table = holidays.country_holidays("GB", subdiv=_SUBDIVISIONS[division], years=year)
    return tuple(sorted(table.items()))


def load_bank_holidays_json(text: str) -> dict[str, Any]:
    """Parse the text of a GOV.UK bank-holidays.json file (https://www.gov.uk/bank-holidays.json).

    The caller reads the file; the calendar validates the division it uses.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SlaConfigError(f"bank_holidays: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise SlaConfigError(
            "bank_holidays: expected an object keyed by division "
            f"({', '.join(DIVISIONS)}), as GOV.UK publishes it"
        )
    return data


def _events_by_year(data: Mapping[str, Any], division: str) -> dict[int, dict[date, str]]:
    section = data.get(division)
    events = section.get("events") if isinstance(section, Mapping) else None
    if not isinstance(events, list):
        raise SlaConfigError(
            f"bank_holidays.{division}: missing, or has no 'events' list; the file must "
            f"cover the calendar's division (it has: {', '.join(map(str, data)) or 'nothing'})"
        )
    by_year: dict[int, dict[date, str]] = {}
    for position, event in enumerate(events):
        where = f"bank_holidays.{division}.events[{position}]"
        if not isinstance(event, Mapping):
            raise SlaConfigError(f"{where}: expected an object with 'title' and 'date'")
        raw_date, title = event.get("date"), event.get("title")
        try:
            when = date.fromisoformat(raw_date) if isinstance(raw_date, str) else None
        except ValueError:
            when = None
        if when is None:
            raise SlaConfigError(f"{where}.date: {raw_date!r} is not a date like 2026-12-25")
        name = title if isinstance(title, str) and title else "Bank holiday"
        year = by_year.setdefault(when.year, {})
        year[when] = f"{year[when]}; {name}" if when in year else name
    return by_year


# --------------------------------------------------------------------------- the calendar


@dataclass(frozen=True, slots=True)
class _Span:
    """Precomputed working days for whole years first_year..last_year."""

    first_year: int
    last_year: int
    first: int  # ordinal of 1 January of first_year
    stop: int  # ordinal of 1 January after last_year
    next_index: list[int]  # per date of the span: index of the first working day on/after it
    days: list[int]  # ordinals of the working days
    opens: list[int]  # opening second of each working day
    closes: list[int]  # closing second of each working day
    starts: list[int]  # working seconds before each working day opens; one extra at the end


class Calendar:
    """A landlord's working days and office hours in one GOV.UK division.

    Calendar(division="england-and-wales", closures=(), office_hours=None, bank_holidays=None)

    - division: one of DIVISIONS.
    - closures: the landlord's own closure days: dates, or a mapping of date to a name.
    - office_hours: OfficeHours (default Monday to Friday 09:00-17:00).
    - bank_holidays: a parsed GOV.UK bank-holidays.json mapping; for every year it has events
      for in this division it replaces the `holidays` package's list.

    Safe to share between threads: the precomputed span is replaced whole, never edited.
    """

    def __init__(
        self,
        division: str = "england-and-wales",
        closures: Iterable[date] | Mapping[date, str] = (),
        office_hours: OfficeHours | None = None,
        bank_holidays: Mapping[str, Any] | None = None,
    ) -> None:
        if division not in _SUBDIVISIONS:
            raise SlaConfigError(
                f"division: unknown division {division!r}; accepted: {', '.join(DIVISIONS)}"
            )
        self.division = division
        self.office_hours = office_hours or OfficeHours.default()
        self.closures = _closure_names(closures)
        self._official = None if bank_holidays is None else _events_by_year(bank_holidays, division)
        self._hours = tuple(
            None if span is None else (_time_seconds(span[0]), _time_seconds(span[1]))
            for span in self.office_hours.days
        )
        self._closure_ordinals = frozenset(d.toordinal() for d in self.closures)
        self._span: _Span | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"Calendar(division={self.division!r}, closures={len(self.closures)}, "
            f"office_hours={self.office_hours.describe()!r}, "
            f"bank_holidays={'file' if self._official is not None else 'package'})"
        )

    # ---- what the calendar knows about days

    def bank_holidays(self, year: int) -> list[tuple[date, str]]:
        """The division's bank holidays in a year, weekend dates included, from the GOV.UK
        file when it covers the year, else from the `holidays` package."""
        if self._official is not None and year in self._official:
            return sorted(self._official[year].items())
        return list(_package_holidays(self.division, year))

    def non_working_days(self, year: int) -> list[tuple[date, str]]:
        """Bank holidays and configured closures that fall on a day the office would
        otherwise open, sorted by date. Weekends and other days without office hours are
        not listed: they are never working days."""
        names: dict[date, list[str]] = {}
        for day, name in self.bank_holidays(year):
            names.setdefault(day, []).append(name)
        for day, name in self.closures.items():
            if day.year == year:
                names.setdefault(day, []).append(name)
        return [
            (day, "; ".join(dict.fromkeys(labels)))
            for day, labels in sorted(names.items())
            if self._hours[day.weekday()] is not None
        ]

    def is_working_day(self, day: date) -> bool:
        if isinstance(day, datetime):
            day = to_london(day).date()
        ordinal = day.toordinal()
        span = self._covering(ordinal, ordinal)
        index = span.next_index[ordinal - span.first]
        return index < len(span.days) and span.days[index] == ordinal

    def is_open(self, at: datetime) -> bool:
        """Is the office open at this instant (a working day, between opening and close)?"""
        local = to_london(at)
        ordinal = local.toordinal()
        span = self._covering(ordinal, ordinal)
        index = span.next_index[ordinal - span.first]
        if index >= len(span.days) or span.days[index] != ordinal:
            return False
        return span.opens[index] <= _seconds_of_day(local) < span.closes[index]

    def office_hours_on(self, day: date) -> tuple[datetime, datetime] | None:
        """Opening and close of business on a day, or None when it is not a working day."""
        if isinstance(day, datetime):
            day = to_london(day).date()
        if not self.is_working_day(day):
            return None
        span = self._hours[day.weekday()]
        assert span is not None  # a working day has hours
        return _london_at(day.toordinal(), span[0]), _london_at(day.toordinal(), span[1])

    def working_day_seconds(self, day: date) -> int:
        """Length of the working day in seconds (0 when it is not a working day)."""
        if isinstance(day, datetime):
            day = to_london(day).date()
        if not self.is_working_day(day):
            return 0
        span = self._hours[day.weekday()]
        assert span is not None  # a working day has hours
        return span[1] - span[0]  # wall-clock office time, as everywhere here

    # ---- working-day arithmetic

    def day_zero(self, received_at: datetime) -> date:
        """The working day a message counts as received: the day it arrives if that is a
        working day and it arrives before close of business, else the next working day."""
        span, index = self._day_zero_index(to_london(received_at))
        span = self._with_index(span, index)
        return date.fromordinal(span.days[index])

    def add_working_days(self, received_at: datetime, n: int) -> datetime:
        """Close of business on the nth working day after day zero (n = 0: day zero's close).

        Monday 10:00 + 2 = Wednesday close; Friday 18:00 + 2 = Wednesday close (day zero is
        Monday)."""
        if n < 0:
            raise SlaError(f"working days must be 0 or more, not {n}")
        span, index = self._day_zero_index(to_london(received_at))
        index += n
        span = self._with_index(span, index)
        return _london_at(span.days[index], span.closes[index])

    def working_day_after(self, day: date, n: int = 1) -> date:
        """The nth working day after `day`, counted like a deadline: from the day itself when
        it is a working day, else from the next working day (its "day 0"). n = 0 gives day 0.

        So Saturday + 1 is Tuesday (day 0 is Monday), like a message arriving on Saturday,
        and for every date d: working_day_after(working_day_after(d, n), m) ==
        working_day_after(d, n + m), and add_working_days(t, n) is close of business on
        working_day_after(day_zero(t), n)."""
        if n < 0:
            raise SlaError(f"working days must be 0 or more, not {n}")
        if isinstance(day, datetime):
            day = to_london(day).date()
        ordinal = day.toordinal()
        span = self._covering(ordinal, ordinal)
        index = span.next_index[ordinal - span.first] + n
        span = self._with_index(span, index)
        return date.fromordinal(span.days[index])

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Office seconds from start to end (0 when end is not later)."""
        first, last = to_london(start), to_london(end)
        if to_utc(last) <= to_utc(first):
            return 0.0
        span = self._covering(first.toordinal(), last.toordinal())
        # Integer microseconds, so the answer is exact (to the microsecond datetimes have).
        return (_position(span, last) - _position(span, first)) / _MICROS

    def add_working_seconds(self, at: datetime, seconds: float) -> datetime:
        """The instant `seconds` office seconds after `at` (before it, when negative).

        Office time does not pass outside office hours, so an instant outside them counts
        from the next opening (going forward) or the previous close (going back). Landing
        exactly on a close of business gives that close, not the next opening (so 0 seconds
        from Saturday noon is Friday's close: the same point in office time).
        working_seconds_between(at, add_working_seconds(at, s)) == s for s >= 0."""
        local = to_london(at)
        ordinal = local.toordinal()
        span = self._covering(ordinal, ordinal)
        delta = round(seconds * _MICROS)
        while True:
            target = _position(span, local) + delta  # microseconds from the span's start
            if target < 0:
                back = int(-target // _MICROS // 50_000_000)  # about 7 years of office time
                span = self._rebuild(span.first_year - 1 - back, span.last_year)
            elif target > span.starts[-1] * _MICROS:
                ahead = int(target // _MICROS // 50_000_000)
                span = self._rebuild(span.first_year, span.last_year + 1 + ahead)
            else:
                break
        # The working day whose office time holds the target; a target exactly at an
        # opening belongs to the previous close (ceil: the first start at or after it).
        index = bisect.bisect_left(span.starts, -(-target // _MICROS)) - 1
        index = min(max(index, 0), len(span.days) - 1)
        offset = target - span.starts[index] * _MICROS
        return _london_at_micros(span.days[index], span.opens[index] * _MICROS + offset)

    # ---- the precomputed span

    def _day_zero_index(self, local: datetime) -> tuple[_Span, int]:
        ordinal = local.toordinal()
        span = self._span
        if span is None or not span.first <= ordinal < span.stop:
            span = self._covering(ordinal, ordinal)
        index = span.next_index[ordinal - span.first]
        if (
            index < len(span.days)
            and span.days[index] == ordinal
            and _seconds_of_day(local) >= span.closes[index]
        ):
            index += 1  # arrived at or after close of business: counts from the next one
        return span, index

    def _with_index(self, span: _Span, index: int) -> _Span:
        """A span (starting where `span` starts, so indices still hold) that has working
        day `index`."""
        while index >= len(span.days):
            more = (index - len(span.days)) // 200 + 2
            span = self._rebuild(span.first_year, span.last_year + more)
        return span

    def _covering(self, first: int, last: int) -> _Span:
        span = self._span
        if span is not None and span.first <= first and last < span.stop:
            return span
        low, high = date.fromordinal(first).year, date.fromordinal(last).year
        if span is None:
            return self._rebuild(low - 1, high + 2)
        return self._rebuild(min(span.first_year, low - 1), max(span.last_year, high + 2))

    def _rebuild(self, first_year: int, last_year: int) -> _Span:
        if first_year < _MIN_YEAR or last_year > _MAX_YEAR:
            raise SlaError(
                f"dates must lie between {_MIN_YEAR} and {_MAX_YEAR}; "
                f"asked for {first_year}-{last_year}"
            )
        span = self._build(first_year, last_year)
        with self._lock:
            current = self._span
            # Keep the widest span shared; callers keep the one they asked for, whose start
            # their indices and positions are relative to.
            if current is None or (
                span.first <= current.first and span.stop >= current.stop
            ):  # fmt: skip
                self._span = span
        return span

    def _build(self, first_year: int, last_year: int) -> _Span:
        closed = set(self._closure_ordinals)
        for year in range(first_year, last_year + 1):
            closed.update(day.toordinal() for day, _ in self.bank_holidays(year))
        first = date(first_year, 1, 1).toordinal()
        stop = date(last_year + 1, 1, 1).toordinal()
        next_index: list[int] = []
        days: list[int] = []
        opens: list[int] = []
        closes: list[int] = []
        starts = [0]
        hours = self._hours
        for ordinal in range(first, stop):
            next_index.append(len(days))
            span = hours[(ordinal - 1) % 7]  # ordinal 1 (1 January AD 1) was a Monday
            if span is None or ordinal in closed:
                continue
            days.append(ordinal)
            opens.append(span[0])
            closes.append(span[1])
            starts.append(starts[-1] + span[1] - span[0])
        return _Span(first_year, last_year, first, stop, next_index, days, opens, closes, starts)


def _position(span: _Span, local: datetime) -> int:
    """Office microseconds from the start of the span to `local` (a London datetime)."""
    ordinal = local.toordinal()
    index = span.next_index[ordinal - span.first]
    if index < len(span.days) and span.days[index] == ordinal:
        opens, closes = span.opens[index] * _MICROS, span.closes[index] * _MICROS
        clamped = min(max(_micros_of_day(local), opens), closes)
        return span.starts[index] * _MICROS + clamped - opens
    return span.starts[index] * _MICROS


def _closure_names(closures: Iterable[date] | Mapping[date, str]) -> dict[date, str]:
    pairs: Iterable[tuple[object, object]]
    if isinstance(closures, Mapping):
        pairs = closures.items()
    else:
        pairs = ((day, "Office closed") for day in closures)
    names: dict[date, str] = {}
    for position, (day, name) in enumerate(pairs):
        if isinstance(day, datetime):
            day = day.date()
        elif isinstance(day, str):
            try:
                day = date.fromisoformat(day)
            except ValueError:
                day = None
        if not isinstance(day, date):
            raise SlaConfigError(
                f"closures[{position}]: {day!r} is not a date; accepted: dates like 2026-12-29"
            )
        names[day] = str(name) if name else "Office closed"
    return names
