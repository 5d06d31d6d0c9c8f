"""With Rasa on, the channel's own words come first: HELP and an appointment YES by text
are answered by the SMS step, never sent to Rasa, while other texts reach Rasa. Built by the
channel registry as `doorstep serve` builds it (no handler replaced after bootstrap), with the
local fake of Rasa's HTTP server and real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from actions.appointments import AppointmentService
from bot.bootstrap import App, bootstrap
from bot.conversation.rasa import RasaEngine
from bot.conversation.turns import TurnRunner
from bot.conversation.unsure import AskWhenUnsure
from bot.domain.model import Channel
from bot.settings import Rasa
from bot.storage import tables as t
from channels.base import CollectingSender
from channels.sms.adapter import make_decoder
from tests.fakes import FakeClock, KeywordClassifier
from tests.support.fake_rasa import FakeRasa, running_fake_rasa
from tests.support.fake_twilio import ACCOUNT_SID, inbound_form, sms_settings

pytestmark = pytest.mark.e2e

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
RESIDENT = "+447700900123"
JOB = {
    "job_ref": "J-2001",
    "resident_name": "Jane Smith",
    "phone": "07700 900123",
    "address": "4 Mill Lane, Leeds",
    "date": "2026-11-25",
    "slot": "am",
    "trade": "Plumbing",
}


@pytest.fixture
def fake() -> Iterator[FakeRasa]:
    with running_fake_rasa() as running:
        yield running


class World:
    def __init__(self, engine: sa.Engine, fake: FakeRasa) -> None:
        self.clock = FakeClock(MONDAY_10)
        self.sms = CollectingSender(Channel.SMS)
        settings = sms_settings(rasa=Rasa(url=fake.url, timeout_seconds=2.0))
        self.app: App = bootstrap(
            settings,
            engine=engine,
            classifier=KeywordClassifier(),
            senders=[self.sms, CollectingSender(Channel.EMAIL)],
            decoders={Channel.SMS: make_decoder(ACCOUNT_SID, now=self.clock)},
            now=self.clock,
            run_migrations=False,
        )  # turn handlers: from the channel registry, Rasa on
        self.engine = engine

    def text_in(self, body: str, sid: str) -> Any:
        raw = urlencode(inbound_form(body, sid=sid, sender=RESIDENT)).encode()
        self.app.pipeline.store_raw(Channel.SMS, "twilio", sid, raw)
        (outcome,) = self.app.pipeline.process_pending()
        return outcome

    def sent(self) -> list[Any]:
        asyncio.run(self.app.outbox.run_once(limit=100))
        return self.sms.sent

    def close(self) -> None:
        self.app.close()


@pytest.fixture
def world(engine: sa.Engine, fake: FakeRasa) -> Iterator[World]:
    built = World(engine, fake)
    yield built
    built.close()


def test_the_registry_puts_keywords_before_rasa(world: World) -> None:
    handler = world.app.pipeline.turn_handlers[Channel.SMS]
    assert isinstance(handler, TurnRunner) and handler.keywords is not None
    assert isinstance(handler.engine, AskWhenUnsure)
    assert isinstance(handler.engine.inner, RasaEngine)


def test_help_with_rasa_on_is_answered_by_the_sms_step(world: World, fake: FakeRasa) -> None:
    world.text_in("HELP", "SM" + "a" * 32)
    texts = world.sent()
    assert [m.kind for m in texts] == ["help"]
    assert world.app.settings.organisation.phone in texts[0].body
    assert fake.webhook_payloads() == []  # Rasa never saw it


def test_appointment_yes_with_rasa_on_confirms(world: World, fake: FakeRasa) -> None:
    AppointmentService.from_app(world.app).schedule(JOB)
    outcome = world.text_in("Yes", "SM" + "b" * 32)
    texts = world.sent()
    assert [m.kind for m in texts] == ["appointment_scheduled", "appointment_reply"]
    assert "confirmed" in texts[1].body
    assert fake.webhook_payloads() == []
    with world.engine.connect() as conn:
        status = conn.execute(
            sa.select(t.interactions.c.status).where(t.interactions.c.id == outcome.interaction_id)
        ).scalar_one()
    assert status == "closed"


def test_other_texts_reach_rasa(world: World, fake: FakeRasa) -> None:
    world.text_in("My sink is blocked", "SM" + "c" * 32)
    texts = world.sent()
    assert [p["message"] for p in fake.webhook_payloads()] == ["My sink is blocked"]
    assert any("You said: My sink is blocked" in m.body for m in texts), [
        (m.kind, m.body) for m in texts
    ]
