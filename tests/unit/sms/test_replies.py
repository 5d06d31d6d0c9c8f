"""Appointment replies in plain words, and appointment input checks (APPT, AFTER-JOB)."""

from __future__ import annotations

from datetime import date

import pytest

from actions.appointments import (
    InvalidAppointment,
    find_date,
    normalise_slot,
    parse_reply,
    slot_in_words,
    validate_input,
)
from bot.settings import Settings

TODAY = date(2026, 11, 23)  # a Monday


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("YES", "confirm"),
        ("Yes thanks", "confirm"),
        ("ok", "confirm"),
        ("cancel my appointment", "cancel"),
        ("Please cancel it, we don't need it now", "cancel"),
        ("change", "change"),
        ("Can I rearrange?", "change"),
        ("I can't make it", "change"),
        ("cant make it sorry", "change"),
        ("I won't be in", "change"),
        ("no", "change"),
    ],
)
def test_replies_to_a_scheduled_appointment(text: str, kind: str) -> None:
    reply = parse_reply(text, TODAY, awaiting="confirm")
    assert reply is not None and reply.kind == kind


def test_a_date_is_a_request_to_change_to_that_day() -> None:
    reply = parse_reply("Can you do Thursday instead?", TODAY, awaiting="confirm")
    assert reply is not None and (reply.kind, reply.day) == ("change", date(2026, 11, 26))
    reply = parse_reply("can't make it, 3/12 would be better", TODAY, awaiting="confirm")
    assert reply is not None and (reply.kind, reply.day) == ("change", date(2026, 12, 3))


def test_other_texts_are_not_appointment_replies() -> None:
    assert (
        parse_reply("My boiler is leaking all over the kitchen floor", TODAY, awaiting="confirm")
        is None
    )
    assert parse_reply("", TODAY, awaiting="confirm") is None


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Yes", "happy"),
        ("yes thank you, lovely job", "happy"),
        ("Great", "happy"),
        ("No", "unhappy"),
        ("not really, the tap still drips", "unhappy"),
        ("yes but it is leaking again", "unhappy"),
        ("hmm", "unhappy"),
    ],
)
def test_after_job_answers(text: str, kind: str) -> None:
    reply = parse_reply(text, TODAY, awaiting="after_job")
    assert reply is not None and reply.kind == kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tomorrow", date(2026, 11, 24)),
        ("monday", date(2026, 11, 30)),  # the next one, never today
        ("fri", date(2026, 11, 27)),
        ("3rd December", date(2026, 12, 3)),
        ("December 3", date(2026, 12, 3)),
        ("5 jan", date(2027, 1, 5)),
        ("05/01/2027", date(2027, 1, 5)),
        ("nothing here", None),
    ],
)
def test_find_date(text: str, expected: date | None) -> None:
    assert find_date(text, TODAY) == expected


@pytest.mark.parametrize(
    ("raw", "slot"),
    [
        ("AM", "am"),
        ("afternoon", "pm"),
        ("All day", "all-day"),
        ("10-12", "10:00-12:00"),
        ("9:30 - 11:00", "09:30-11:00"),
    ],
)
def test_slots(raw: str, slot: str) -> None:
    assert normalise_slot(raw) == slot


@pytest.mark.parametrize("raw", ["evening", "12-10", "25:00-26:00"])
def test_bad_slots(raw: str) -> None:
    with pytest.raises(ValueError):
        normalise_slot(raw)


def test_slot_in_words() -> None:
    settings = Settings()
    assert slot_in_words(settings, date(2026, 12, 1), "am", TODAY) == (
        "Tuesday 1 December, in the morning (8am to 1pm)"
    )
    assert slot_in_words(settings, date(2026, 12, 1), "10:00-12:00", TODAY) == (
        "Tuesday 1 December, between 10am and midday"
    )


def test_validate_input_lists_every_problem() -> None:
    with pytest.raises(InvalidAppointment) as caught:
        validate_input(
            {
                "job_ref": "J 1",
                "phone": "12",
                "date": "2026-11-01",
                "slot": "evening",
                "colour": "red",
            },
            today=TODAY,
        )
    fields = {f for f, _ in caught.value.errors}
    assert fields == {"job_ref", "phone", "date", "slot", "address", "trade", "colour"}
    assert any("in the past" in m for f, m in caught.value.errors if f == "date")


def test_validate_input_normalises() -> None:
    out = validate_input(
        {
            "job_ref": "J-1",
            "phone": "07700 900123",
            "address": "1 Mill Lane",
            "date": "01/12/2026",
            "slot": "AM",
            "trade": "Plumbing",
            "email": "Jane@Example.NET",
        },
        today=TODAY,
    )
    assert out["phone"] == "+447700900123"
    assert out["date"] == date(2026, 12, 1)
    assert out["slot"] == "am"
    assert out["email"] == "jane@example.net"
