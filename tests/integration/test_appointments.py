"""Appointments on real SQLite and PostgreSQL (APPT, AFTER-JOB): each text exactly once,
reminders with a controlled clock across a restart, never for cancelled or past visits,
quiet hours, and residents' replies through the real pipeline and the SMS turn handler."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from actions.appointments import (
    AppointmentConflict,
    AppointmentService,
    AppointmentWorker,
    InvalidAppointment,
)
from bot.bootstrap import App, bootstrap
from bot.domain.model import Channel
from bot.storage import tables as t
from bot.storage.tables_sms import appointments
from channels.base import CollectingSender
from channels.sms.adapter import make_decoder, turn_handler
from tests.fakes import FakeClock, KeywordClassifier
from tests.support.fake_twilio import ACCOUNT_SID, inbound_form, sms_settings

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Monday 23 November 2026, 10am
RESIDENT = "+447700900123"
JOB = {
    "job_ref": "J-1001",
    "resident_name": "Jane Smith",
    "phone": "07700 900123",
    "address": "4 Mill Lane, Leeds",
    "date": "2026-11-25",  # Wednesday
    "slot": "am",
    "trade": "Plumbing",
}


class World:
    """An App on a real database with collecting senders; `restart()` builds a new one on
    the same database, as a restarted server would."""

    def __init__(self, engine: sa.Engine, clock: FakeClock, **overrides: Any) -> None:
        self.engine, self.clock, self.overrides = engine, clock, overrides
        self.sms = CollectingSender(Channel.SMS)
        self.email = CollectingSender(Channel.EMAIL)
        self.restart()

    def restart(self) -> None:
        self.settings = sms_settings(**self.overrides)
        self.app: App = bootstrap(
            self.settings,
            engine=self.engine,
            classifier=KeywordClassifier(),
            senders=[self.sms, self.email],
            decoders={Channel.SMS: make_decoder(ACCOUNT_SID, now=self.clock)},
            turn_handlers={Channel.SMS: turn_handler(self.settings)},
            now=self.clock,
            run_migrations=False,
        )
        self.service = AppointmentService.from_app(self.app)
        self.worker = AppointmentWorker(self.app)

    async def send(self) -> list[Any]:
        await self.app.outbox.run_once(limit=100)
        return self.sms.sent

    def text_in(self, body: str, sid: str) -> Any:
        from urllib.parse import urlencode

        raw = urlencode(inbound_form(body, sid=sid, sender=RESIDENT)).encode()
        self.app.pipeline.store_raw(Channel.SMS, "twilio", sid, raw)
        (outcome,) = self.app.pipeline.process_pending()
        return outcome

    def rows(self, table: sa.Table) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(table).order_by(table.c.id)).all())

    def kinds(self) -> list[str]:
        return [m.kind for m in self.sms.sent]


@pytest.fixture
def world(engine: sa.Engine) -> World:
    return World(engine, FakeClock(MONDAY_10))


async def test_scheduling_texts_once_even_when_repeated(world: World) -> None:
    appt, created = world.service.schedule(JOB)
    again, created_again = world.service.schedule(JOB)  # the repairs system retried
    assert (created, created_again) == (True, False) and again.id == appt.id
    (text,) = await world.send()
    assert text.recipient == RESIDENT and text.kind == "appointment_scheduled"
    assert "Hi Jane" in text.body
    assert "Wednesday 25 November, in the morning (8am to 1pm)" in text.body
    assert "J-1001" in text.body and world.settings.organisation.phone in text.body
    with pytest.raises(AppointmentConflict):
        world.service.schedule({**JOB, "date": "2026-11-26"})


async def test_moving_and_cancelling_each_text_once(world: World) -> None:
    world.service.schedule(JOB)
    world.service.update("J-1001", {"date": "2026-11-26", "slot": "pm"})
    world.service.update("J-1001", {"date": "2026-11-26", "slot": "pm"})  # no change: no text
    world.service.update("J-1001", {"address": "4 Mill Lane, Leeds LS1"})  # not a move: no text
    world.service.cancel("J-1001", "the operative is ill")
    world.service.cancel("J-1001")  # already cancelled
    texts = await world.send()
    assert world.kinds() == ["appointment_scheduled", "appointment_moved", "appointment_cancelled"]
    assert "New time: Thursday 26 November, in the afternoon" in texts[1].body
    assert "It was Wednesday 25 November" in texts[1].body
    assert "the operative is ill" in texts[2].body


def test_bad_input_lists_the_fields(world: World) -> None:
    with pytest.raises(InvalidAppointment) as caught:
        world.service.schedule({**JOB, "phone": "123", "date": "2026-11-01"})
    assert {f for f, _ in caught.value.errors} == {"phone", "date"}


async def test_reminder_goes_once_at_the_configured_time_across_a_restart(world: World) -> None:
    world.service.schedule(JOB)
    await world.send()
    world.clock.current = datetime(2026, 11, 24, 17, 59, tzinfo=UTC)  # Tuesday 5:59pm
    assert world.worker.run_once()["reminders"] == 0
    world.clock.current = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # reminder_time 18:00
    assert world.worker.run_once()["reminders"] == 1
    assert world.worker.run_once()["reminders"] == 0
    world.restart()  # a new App and worker on the same database
    assert world.worker.run_once()["reminders"] == 0
    world.clock.advance(hours=1)
    assert world.worker.run_once()["reminders"] == 0
    await world.send()
    assert world.kinds() == ["appointment_scheduled", "appointment_reminder"]
    assert "Reminder" in world.sms.sent[1].body
    (row,) = world.rows(appointments)
    assert (row.reminder_status, row.reminder_sent_at) == (
        "sent",
        world.clock.current.replace(hour=18),
    )


async def test_no_reminder_for_cancelled_or_past_appointments(world: World) -> None:
    world.service.schedule(JOB)
    world.service.schedule({**JOB, "job_ref": "J-1002"})
    world.service.cancel("J-1001")
    # The worker was down from Monday until after J-1002's visit had begun.
    world.clock.current = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert world.worker.run_once()["reminders"] == 0
    await world.send()
    assert "appointment_reminder" not in world.kinds()
    assert {r.job_ref: r.reminder_status for r in world.rows(appointments)} == {
        "J-1001": "skipped",
        "J-1002": "skipped",
    }


async def test_scheduled_after_reminder_time_gets_no_second_text(world: World) -> None:
    world.clock.current = datetime(2026, 11, 24, 19, 0, tzinfo=UTC)  # after Tuesday 6pm
    world.service.schedule(JOB)
    world.clock.advance(hours=2)
    assert world.worker.run_once()["reminders"] == 0


async def test_reminders_wait_out_quiet_hours(engine: sa.Engine) -> None:
    world = World(engine, FakeClock(MONDAY_10), sms={"reminder_time": "21:00"})
    # An afternoon visit: holding the reminder until 8am still gives notice. (For a visit
    # starting as quiet hours end, the reminder goes at once: held, it would be too late.)
    world.service.schedule({**JOB, "slot": "pm"})
    await world.send()
    world.clock.current = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
    assert world.worker.run_once()["reminders"] == 1
    await world.send()
    assert world.kinds() == ["appointment_scheduled"]  # held in the outbox
    world.clock.current = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    await world.send()
    assert world.kinds() == ["appointment_scheduled", "appointment_reminder"]


async def test_opted_out_resident_gets_appointment_texts_by_email(world: World) -> None:
    world.service.schedule({**JOB, "email": "jane@example.net"})
    await world.send()
    world.text_in("STOP", "SM" + "1" * 32)
    # The webhook puts the number on hold at intake; here the same function does.
    from bot.storage.repository import UnitOfWork
    from channels.sms.optout import opt_out

    with UnitOfWork(world.engine, world.clock) as uow:
        opt_out(uow, RESIDENT, "STOP")
        uow.commit()
    world.service.update("J-1001", {"date": "2026-11-27"})
    await world.app.outbox.run_once()
    assert world.kinds() == ["appointment_scheduled"]
    (mail,) = world.email.sent
    assert mail.recipient == "jane@example.net" and "New time: Friday 27 November" in mail.body


# ---- replies ------------------------------------------------------------------------------


def _events(world: World, kind: str) -> list[Any]:
    return [e for e in world.rows(t.events) if e.kind == kind]


async def test_yes_confirms_and_is_acknowledged(world: World) -> None:
    world.service.schedule(JOB)
    outcome = world.text_in("Yes", "SM" + "2" * 32)
    texts = await world.send()
    assert [m.kind for m in texts] == ["appointment_scheduled", "appointment_reply"]
    assert "confirmed for Wednesday 25 November" in texts[1].body
    assert world.rows(appointments)[0].confirmed_at is not None
    interaction = world.rows(t.interactions)[0]
    assert interaction.id == outcome.interaction_id and interaction.status == "closed"


async def test_cancel_in_time_is_done_and_acknowledged(world: World) -> None:
    world.service.schedule(JOB)  # Wednesday; today is Monday: a working day's notice
    world.text_in("please cancel my appointment", "SM" + "3" * 32)
    texts = await world.send()
    assert texts[-1].kind == "appointment_reply" and "We have cancelled" in texts[-1].body
    assert world.rows(appointments)[0].status == "cancelled_by_resident"
    assert _events(world, "appointment_late_notice") == []
    assert world.rows(t.interactions)[0].status == "closed"


async def test_late_cancellation_is_allowed_but_flagged_to_the_team(world: World) -> None:
    world.service.schedule(JOB)
    world.clock.current = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)  # Tuesday evening
    outcome = world.text_in("Sorry I need to cancel", "SM" + "4" * 32)
    assert world.rows(appointments)[0].status == "cancelled_by_resident"
    (flag,) = _events(world, "appointment_late_notice")
    assert flag.interaction_id == outcome.interaction_id
    notes = _events(world, "note")
    assert notes and "Late notice" in notes[0].detail["text"]
    interaction = world.rows(t.interactions)[0]
    assert (interaction.status, interaction.team) == ("open", "repairs")


async def test_cant_make_it_with_a_date_goes_to_the_team_to_rearrange(world: World) -> None:
    world.service.schedule(JOB)
    outcome = world.text_in("I can't make it, can you do Friday?", "SM" + "5" * 32)
    texts = await world.send()
    reply = texts[-1]
    assert "Repairs team will contact you by" in reply.body
    assert "You asked for Friday 27 November" in reply.body
    assert outcome.reference is not None and outcome.reference in reply.body
    row = world.rows(appointments)[0]
    assert (row.status, row.preferred_date) == ("change_requested", date(2026, 11, 27))
    interaction = world.rows(t.interactions)[0]
    assert (interaction.status, interaction.team) == ("open", "repairs")


async def test_an_unrelated_text_is_acknowledged_as_usual(world: World) -> None:
    world.service.schedule(JOB)
    world.text_in("My neighbour is very noisy every night", "SM" + "6" * 32)
    texts = await world.send()
    assert texts[-1].kind == "acknowledgement"


async def test_after_job_unhappy_opens_an_interaction_with_the_after_job_clock(
    world: World,
) -> None:
    world.service.schedule(JOB)
    world.clock.current = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    world.service.complete("J-1001")
    outcome = world.text_in("No, the tap is still leaking", "SM" + "7" * 32)
    texts = await world.send()
    assert texts[-2].kind == "after_job" and "Were you happy with the work?" in texts[-2].body
    assert texts[-1].kind == "after_job_reply" and "We are sorry" in texts[-1].body
    clocks = {
        c.policy: c for c in world.rows(t.clocks) if c.interaction_id == outcome.interaction_id
    }
    assert clocks["after-job-2"].is_open
    assert not any(p.startswith("handoff") and c.is_open for p, c in clocks.items())
    # Nobody answered the hand-off clock: the after-job call supersedes it (not "met").
    handoff = [c for p, c in clocks.items() if p.startswith("handoff")]
    assert handoff and all(c.outcome == "superseded" for c in handoff)
    interaction = world.rows(t.interactions)[0]
    assert (interaction.status, interaction.team, interaction.topic) == (
        "open",
        "repairs",
        "repair",
    )
    assert world.rows(appointments)[0].satisfaction == "unhappy"


async def test_after_job_happy_is_thanked_and_closed(world: World) -> None:
    world.service.schedule(JOB)
    world.service.complete("J-1001")
    world.text_in("Yes thanks, great job", "SM" + "8" * 32)
    texts = await world.send()
    assert "glad the work is done" in texts[-1].body
    assert world.rows(appointments)[0].satisfaction == "happy"
    assert world.rows(t.interactions)[0].status == "closed"
