"""Whole conversations through Doorstep with the real Rasa stack: Doorstep's web app (uvicorn,
real SQLite), the Rasa server with the trained model, and the action server calling
Doorstep's assistant API. Each conversation ends in the stored interaction with its topic and
SLA clocks, and the replies in the outbox on the resident's channel (SAME-CHANNEL).

Turns enter through the pipeline exactly as a channel adapter stores them; the web chat and
SMS adapters' own tests cover their WebSocket and signed webhooks."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.bootstrap import App, bootstrap
from bot.conversation import RasaEngine
from bot.conversation.turns import TurnRunner
from bot.domain.model import Channel, OutboundMessage
from bot.settings import Rasa, Settings, Team
from bot.storage import tables as t
from bot.storage.db import create_engine
from bot.web.app import create_app
from channels.base import CollectingSender
from tests.e2e.rasa_stack import ServerThread, rasa_model, running_rasa
from tests.fakes import KeywordClassifier
from tests.integration.helpers import json_decoder

# Building Rasa's environment and training can take minutes on a cold cache (scripts/test runs
# scripts/rasa-setup first, so this is the slack for a direct pytest run).
pytestmark = [pytest.mark.e2e, pytest.mark.rasa, pytest.mark.timeout(1800)]

TOKEN = "e2e-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[App, Any]]:
    chosen = os.environ.get("DOORSTEP_RASA_MODEL")  # a developer's own model, else setup's
    model = Path(chosen) if chosen else rasa_model()
    tmp = tmp_path_factory.mktemp("rasa")
    engine = create_engine(f"sqlite:///{tmp / 'doorstep.db'}")
    settings = Settings(
        api_token=TOKEN,
        rasa=Rasa(url="http://127.0.0.1:9", timeout_seconds=30),
        # The app runs on the real clock: without this, a run between 8pm and 8am would hold
        # every SMS reply for the morning (quiet hours are tested in the SMS tests).
        sms={"quiet_start": "00:00", "quiet_end": "00:00"},
        teams=[
            Team(id="repairs", name="Repairs team"),
            Team(id="asb", name="Neighbourhood team"),
            Team(id="complaints", name="Complaints team"),
        ],
        routing={"repair": "repairs", "asb": "asb", "complaint": "complaints"},
    )
    app = bootstrap(
        settings,
        engine=engine,
        classifier=KeywordClassifier(),
        senders=[CollectingSender(c) for c in (Channel.WEBCHAT, Channel.SMS, Channel.EMAIL)],
        decoders={c: json_decoder for c in Channel},
        turn_handlers={},
    )
    api = create_app(app, run_workers=False)
    if not any(getattr(r, "path", "") == "/api/assistant/organisation" for r in api.routes):
        from bot.web.assistant_api import build_router

        api.include_router(build_router(app))
    with ServerThread(api) as server, running_rasa(model, server.url, TOKEN, tmp / "logs") as rasa:
        settings.rasa.url = rasa.rasa_url
        handler = RasaEngine(settings)
        turns = TurnRunner(handler)
        app.pipeline.turn_handlers.update({Channel.WEBCHAT: turns, Channel.SMS: turns})
        try:
            yield app, rasa
        finally:
            handler.close()
            app.close()


class Conversation:
    """One resident on one channel, saying things and reading the replies."""

    def __init__(self, app: App, channel: Channel = Channel.WEBCHAT) -> None:
        self.app = app
        self.channel = channel
        self.conversation = uuid.uuid4().hex[:12]
        self.sender = (
            "+447700900" + str(uuid.uuid4().int)[:3]
            if channel is Channel.SMS
            else (f"session-{self.conversation}")
        )
        self.turns = 0
        self.first_id: str | None = None
        self.interaction_id: int | None = None

    def say(self, text: str) -> list[str]:
        self.turns += 1
        key = f"{self.conversation}-{self.turns}"
        refs = [self.conversation] + ([self.first_id] if self.first_id else [])
        raw = {
            "channel": self.channel.value,
            "id": key,
            "from": self.sender,
            "at": datetime.now(UTC).isoformat(),
            "body": text,
            "refs": refs,
        }
        self.first_id = self.first_id or key
        self.app.pipeline.store_raw(self.channel, "e2e", key, json.dumps(raw).encode())
        (outcome,) = self.app.pipeline.process_pending()
        assert outcome.status in ("processed", "joined"), outcome
        self.interaction_id = self.interaction_id or outcome.interaction_id
        assert outcome.interaction_id == self.interaction_id  # one conversation, one case
        return [m.body for m in self._sent_since()]

    def _sent_since(self) -> list[OutboundMessage]:
        before = len(self._sender().sent)
        asyncio.run(self.app.outbox.run_once(limit=100))
        return [m for m in self._sender().sent[before:] if m.recipient == self.sender]

    def _sender(self) -> CollectingSender:
        found = self.app.senders.get(self.channel)
        assert isinstance(found, CollectingSender)
        return found

    def interaction(self) -> sa.Row[Any]:
        with self.app.engine.connect() as conn:
            return conn.execute(
                sa.select(t.interactions).where(t.interactions.c.id == self.interaction_id)
            ).one()

    def clocks(self) -> dict[str, sa.Row[Any]]:
        with self.app.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.clocks).where(t.clocks.c.interaction_id == self.interaction_id)
            ).all()
        return {r.policy: r for r in rows}

    def events(self) -> list[str]:
        with self.app.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.events.c.kind).where(t.events.c.interaction_id == self.interaction_id)
            ).all()
        return [r.kind for r in rows]


def _joined(replies: list[str]) -> str:
    return "\n".join(replies)


def test_routine_repair_by_web_chat(stack: tuple[App, Any]) -> None:
    app, _ = stack
    chat = Conversation(app)
    assert "Where is it" in _joined(chat.say("The kitchen tap is leaking"))
    assert "at risk" in _joined(chat.say("In the kitchen"))
    assert "get into your home" in _joined(chat.say("no"))
    done = _joined(chat.say("Weekday mornings"))
    row = chat.interaction()
    assert row.reference in done and "will contact you by" in done
    assert "photos" in done.lower()
    assert (row.topic, row.urgency, row.team) == ("repair", "routine", "repairs")
    clocks = chat.clocks()
    assert clocks["ack-2"].outcome == "met"  # the first Rasa reply acknowledged (ACK-2)
    assert clocks["handoff-3"].is_open and clocks["respond-10"].is_open
    assert "assistant_repair_request" in chat.events()
    assert chat.events().count("assistant_turn") == 4


def test_only_toilet_is_an_emergency_and_ends_with_the_24_hour_line(
    stack: tuple[App, Any],
) -> None:
    app, _ = stack
    chat = Conversation(app)
    chat.say("My toilet is broken")
    chat.say("Bathroom")
    assert "only toilet" in _joined(chat.say("no"))
    done = _joined(chat.say("yes"))
    assert app.settings.organisation.emergency_phone in done and "24-hour" in done
    row = chat.interaction()
    assert (row.topic, row.urgency) == ("repair", "emergency")
    assert chat.clocks()["handoff-urgent-1"].is_open


def test_asb_with_danger_says_999_and_is_urgent(stack: tuple[App, Any]) -> None:
    app, _ = stack
    chat = Conversation(app)
    assert "When did it happen" in _joined(chat.say("My neighbour threatened me"))
    assert "in danger" in _joined(chat.say("Last night and it is still going on"))
    assert "999" in _joined(chat.say("yes"))
    done = _joined(chat.say("yes"))
    row = chat.interaction()
    assert row.reference in done and "101" in done  # hate crime: the police on 101
    assert (row.topic, row.urgency, row.team) == ("asb", "urgent", "asb")
    assert chat.clocks()["asb-urgent-1"].is_open


def test_complaint_sends_the_procedure_by_sms(stack: tuple[App, Any]) -> None:
    app, _ = stack
    sms = Conversation(app, Channel.SMS)
    assert "what happened" in _joined(sms.say("I want to make a complaint")).lower()
    assert "put it right" in _joined(sms.say("Nobody came to fix my boiler three times"))
    assert "formal complaint" in _joined(sms.say("Fix it and say sorry"))
    done = _joined(sms.say("yes"))
    assert "complaints procedure" in done
    row = sms.interaction()
    assert row.topic == "complaint"
    clocks = sms.clocks()
    assert clocks["complaint-procedure-1"].outcome == "met"  # the procedure went by SMS
    assert clocks["complaint-stage1-ack"].is_open


def test_asking_for_a_person_hands_off(stack: tuple[App, Any]) -> None:
    app, _ = stack
    chat = Conversation(app)
    reply = _joined(chat.say("Can I speak to a person please"))
    assert ("passing you to" in reply) or ("office is closed" in reply)
    assert "handoff_requested" in chat.events()
    assert chat.clocks()["handoff-3"].is_open
