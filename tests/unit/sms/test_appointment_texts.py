"""Appointment texts greet the resident through the one greeting function (APPT): the
repairs system's "Smith, Jane" is Jane, "Smith, Ms Jane" is Ms Smith, never "Smith"."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from actions.acknowledge import Composer
from actions.appointments import Appointment, Context
from actions.appointments.texts import text_values
from bot.service.clocks import ClockService
from bot.settings import Settings
from sla import PRESETS, Calendar

NOW = datetime(2026, 11, 23, 10, tzinfo=UTC)  # a Monday
TEMPLATES = (
    "appointment_scheduled.txt.j2",
    "appointment_moved.txt.j2",
    "appointment_reminder.txt.j2",
    "appointment_cancelled.txt.j2",
    "appointment_after_job.txt.j2",
)


def _ctx() -> Context:
    settings = Settings()
    return Context(
        settings=settings,
        composer=Composer(settings.organisation, settings.templates_dir),
        clocks=ClockService(dict(PRESETS), Calendar()),
        now=lambda: NOW,
    )


def _appointment(name: str | None) -> Appointment:
    start = datetime(2026, 11, 25, 8, tzinfo=UTC)
    return Appointment(
        id=1, job_ref="J-1001", contact_id=1, resident_name=name, phone="+447700900123",
        email=None, address="4 Mill Lane, Leeds", trade="Plumbing", slot_date=date(2026, 11, 25),
        slot="am", slot_start=start, slot_end=start.replace(hour=13), status="scheduled",
        version=1, confirmed_at=None, cancel_reason=None, preferred_date=None,
        awaiting="confirm", last_texted_at=None, reminder_due_at=start, reminder_status="pending",
        reminder_sent_at=None, completed_at=None, satisfaction=None, interaction_id=None,
    )  # fmt: skip


def _text(template: str, name: str | None) -> str:
    ctx = _ctx()
    values = text_values(ctx, _appointment(name), NOW, old_when="Monday", reason=None)
    return ctx.composer.render(template, channel="sms", **values)


@pytest.mark.parametrize(
    ("name", "greeting"),
    [
        ("Smith, Jane", "Hi Jane."),
        ("SMITH, JANE", "Hi Jane."),
        ("Smith, Ms Jane", "Hi Ms Smith."),
        ("Ms Smith", "Hi Ms Smith."),
        ("jane smith", "Hi Jane."),
    ],
)
def test_the_booking_text_greets_surname_forename_names_properly(name: str, greeting: str) -> None:
    body = _text("appointment_scheduled.txt.j2", name)
    assert body.startswith(greeting)
    assert "Hi Smith" not in body and "Hi Ms," not in body


@pytest.mark.parametrize("template", TEMPLATES)
def test_no_appointment_text_calls_the_resident_by_their_surname_alone(template: str) -> None:
    body = _text(template, "Smith, Jane")
    assert "Smith" not in body


@pytest.mark.parametrize("name", [None, "", "Mrs", "jane@example.net"])
def test_no_usable_name_means_no_name_in_the_greeting(name: str | None) -> None:
    body = _text("appointment_scheduled.txt.j2", name)
    assert not body.startswith("Hi")
    assert body.startswith("Your plumbing repair is booked")


@pytest.mark.parametrize("channel", ["sms", "webchat"])
def test_what_the_assistant_says_back_comes_from_templates(channel: str) -> None:
    composer = _ctx().composer
    phone = Settings().organisation.phone
    when = "Tuesday 1 December, in the morning (8am to 1pm)"
    cancelled = composer.render(
        "appointment_assistant_cancelled.txt.j2", channel=channel, trade="plumbing", when=when
    ).strip()
    assert cancelled == (
        f"We have cancelled your plumbing appointment {when}. To contact us, call {phone}."
    )
    change = composer.render(
        "appointment_assistant_change.txt.j2",
        channel=channel,
        team="Repairs team",
        when=when,
        deadline="by 5pm on Thursday 3 December",
    ).strip()
    assert change == (
        f"We have asked the Repairs team to change your appointment {when}. They will "
        f"contact you by 5pm on Thursday 3 December. To contact us, call {phone}."
    )
