"""Phone numbers and quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.settings import Sms
from channels.sms.phone import PhoneError, normalise, redact
from channels.sms.quiet import not_before, quiet_until


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("07700 900123", "+447700900123"),
        ("+44 7700 900123", "+447700900123"),
        ("+44 (0)7700 900123", "+447700900123"),
        ("0044 7700 900123", "+447700900123"),
        ("+1 415 867 5309", "+14158675309"),
    ],
)
def test_normalise(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize("raw", ["7700900123", "0770", "+44 77OO 900123", ""])
def test_bad_numbers(raw: str) -> None:
    with pytest.raises(PhoneError):
        normalise(raw)


def test_redact_keeps_only_the_ends() -> None:
    assert redact("+447700900123") == "+44…0123"
    assert "900" not in redact("+447700900123")
    assert redact(None) == "-"


SMS = Sms()


def test_quiet_hours_evening_holds_until_eight_next_morning() -> None:
    # 21:30 UTC on 23 Nov is 21:30 in London (winter).
    until = quiet_until(datetime(2026, 11, 23, 21, 30, tzinfo=UTC), SMS)
    assert until is not None
    assert until.astimezone(UTC) == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_quiet_hours_small_hours_hold_until_eight_the_same_day() -> None:
    until = quiet_until(datetime(2026, 11, 24, 2, 0, tzinfo=UTC), SMS)
    assert until is not None and until.astimezone(UTC) == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


def test_daytime_is_not_quiet() -> None:
    assert quiet_until(datetime(2026, 11, 24, 12, 0, tzinfo=UTC), SMS) is None
    assert quiet_until(datetime(2026, 11, 24, 8, 0, tzinfo=UTC), SMS) is None
    assert quiet_until(datetime(2026, 11, 24, 19, 59, tzinfo=UTC), SMS) is None


def test_summer_time_uses_local_clock() -> None:
    # 19:30 UTC on 1 July is 20:30 BST: quiet until 08:00 BST = 07:00 UTC.
    until = quiet_until(datetime(2026, 7, 1, 19, 30, tzinfo=UTC), SMS)
    assert until is not None and until.astimezone(UTC) == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)


def test_urgent_is_never_held() -> None:
    assert not_before(datetime(2026, 11, 23, 23, 0, tzinfo=UTC), SMS, urgent=True) is None


def test_no_quiet_hours_when_start_equals_end() -> None:
    sms = Sms(quiet_start="00:00", quiet_end="00:00")
    assert quiet_until(datetime(2026, 11, 23, 23, 0, tzinfo=UTC), sms) is None
