"""Rasa as the conversation engine through the real pipeline, on real SQLite and PostgreSQL,
against a local fake of Rasa's HTTP server (real httpx over a socket): replies go through the
outbox on the resident's channel (SAME-CHANNEL), the first one stops the acknowledgement clock
(ACK-2), and when Rasa is down, slow or broken the built-in engine answers and nothing is lost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from bot.bootstrap import App
from bot.conversation import RasaEngine, Reply, Turn
from bot.conversation.turns import TurnRunner
from bot.domain.model import Channel, OutboundMessage
from bot.settings import Rasa, Settings
from bot.storage import tables as t
from channels.base import CollectingSender
from tests.fakes import FakeClock
from tests.integration.helpers import deliver, make_app
from tests.support.fake_rasa import FakeRasa, closed_port_url, running_fake_rasa

pytestmark = pytest.mark.e2e

MONDAY_10 = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)


class BuiltInAssistant:
    """Stands in for the built-in engine (Rasa's fall-back)."""

    def __init__(self, replies: bool = True) -> None:
        self.replies = replies
        self.turns: list[Turn] = []

    def respond(self, turn: Turn) -> list[Reply]:
        self.turns.append(turn)
        if not self.replies:
            return []
        return [Reply("Built-in assistant here.", acknowledges=turn.is_new)]


@pytest.fixture
def fake() -> Iterator[FakeRasa]:
    with running_fake_rasa() as running:
        yield running


def _app(
    engine: sa.Engine, url: str, fallback: BuiltInAssistant | None = None, timeout: float = 2.0
) -> tuple[App, RasaEngine, FakeClock]:
    clock = FakeClock(MONDAY_10)
    settings = Settings(rasa=Rasa(url=url, timeout_seconds=timeout))
    handler = RasaEngine(settings, fallback=fallback)
    turns = TurnRunner(handler)
    app, _ = make_app(engine, clock, settings, turn_handlers={Channel.WEBCHAT: turns})
    return app, handler, clock


def _chat(app: App, key: str, body: str, refs: tuple[str, ...] = ("conv-1",)) -> None:
    deliver(app, key, channel="webchat", id=key, body=body, refs=list(refs), **{"from": "sess-1"})


def _sent(app: App) -> list[OutboundMessage]:
    asyncio.run(app.outbox.run_once(limit=100))
    sender = app.senders.get(Channel.WEBCHAT)
    assert isinstance(sender, CollectingSender)
    return sender.sent


def _outbox(engine: sa.Engine) -> list[sa.Row[Any]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(t.outbox).order_by(t.outbox.c.id)).all())


def _clocks(engine: sa.Engine) -> dict[str, sa.Row[Any]]:
    with engine.connect() as conn:
        return {r.policy: r for r in conn.execute(sa.select(t.clocks)).all()}


def _events(engine: sa.Engine, kind: str) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.events.c.detail).where(t.events.c.kind == kind)).all()
    return [dict(r.detail) for r in rows]


def test_rasa_replies_go_through_the_outbox_and_keep_ack_2(
    engine: sa.Engine, fake: FakeRasa
) -> None:
    fake.responder = lambda p: [
        {"recipient_id": p["sender"], "text": "Sorry to hear that."},
        {
            "recipient_id": p["sender"],
            "text": "Is anyone at risk?",
            "buttons": [
                {"title": "Yes", "payload": "/affirm"},
                {"title": "No", "payload": "/deny"},
            ],
        },
    ]
    app, handler, _ = _app(engine, fake.url)
    try:
        _chat(app, "m1", "My boiler is broken")
        (outcome,) = app.pipeline.process_pending()
        sent = _sent(app)
    finally:
        handler.close()

    (payload,) = fake.webhook_payloads()
    assert payload["sender"] == "webchat:conv-1"
    assert payload["message"] == "My boiler is broken"
    meta = payload["metadata"]["doorstep"]
    assert meta["reference"] == outcome.reference and meta["new"] is True
    assert meta["topic"] == "repair" and meta["channel"] == "webchat"

    assert [m.body for m in sent] == ["Sorry to hear that.", "Is anyone at risk?\n- Yes\n- No"]
    assert all(m.recipient == "sess-1" and m.channel is Channel.WEBCHAT for m in sent)
    statuses = {r.kind: r.status for r in _outbox(engine)}
    assert statuses["acknowledgement"] == "withdrawn"  # the held standard acknowledgement
    assert _clocks(engine)["ack-2"].outcome == "met"  # the first Rasa reply kept ACK-2
    (event,) = _events(engine, "assistant_turn")
    assert event["replies"][0] == "Sorry to hear that."


def test_follow_up_turn_joins_the_interaction_and_reaches_rasa(
    engine: sa.Engine, fake: FakeRasa
) -> None:
    app, handler, _ = _app(engine, fake.url)
    try:
        _chat(app, "m1", "There is a leak")
        _chat(app, "m2", "In the kitchen", refs=("conv-1", "m1"))
        first, second = app.pipeline.process_pending()
        sent = _sent(app)
    finally:
        handler.close()
    assert second.status == "joined" and second.interaction_id == first.interaction_id
    assert [p["sender"] for p in fake.webhook_payloads()] == ["webchat:conv-1"] * 2
    assert fake.webhook_payloads()[1]["metadata"]["doorstep"]["new"] is False
    assert [m.body for m in sent] == ["You said: There is a leak", "You said: In the kitchen"]
    assert len(_events(engine, "assistant_turn")) == 2


@pytest.mark.parametrize("failure", ["down", "error", "garbage", "silent", "slow"])
def test_built_in_assistant_answers_when_rasa_fails(
    engine: sa.Engine, fake: FakeRasa, failure: str
) -> None:
    url = fake.url
    if failure == "down":
        url = closed_port_url()
    elif failure == "error":
        fake.status = 500
    elif failure == "garbage":
        fake.raw_body = b"<html>proxy error</html>"
    elif failure == "silent":
        fake.responder = lambda p: []
    else:
        fake.delay_seconds = 5.0
    builtin = BuiltInAssistant()
    app, handler, _ = _app(engine, url, fallback=builtin, timeout=0.5)
    try:
        _chat(app, "m1", "My boiler is broken")
        (outcome,) = app.pipeline.process_pending()
        sent = _sent(app)
    finally:
        handler.close()
    assert outcome.status == "processed"
    assert len(builtin.turns) == 1
    assert [m.body for m in sent] == ["Built-in assistant here."]
    assert {r.kind: r.status for r in _outbox(engine)}["acknowledgement"] == "withdrawn"
    (event,) = _events(engine, "assistant_unavailable")
    assert event["engine"] == "rasa"


def test_standard_acknowledgement_goes_when_rasa_is_down_and_no_fallback(
    engine: sa.Engine,
) -> None:
    app, handler, _ = _app(engine, closed_port_url())
    try:
        _chat(app, "m1", "My boiler is broken")
        (outcome,) = app.pipeline.process_pending()
        sent = _sent(app)
    finally:
        handler.close()
    (ack,) = sent
    assert ack.kind == "acknowledgement"
    assert outcome.reference is not None and outcome.reference in ack.body
    assert _clocks(engine)["ack-2"].outcome == "met"
    assert [r.status for r in _outbox(engine)] == ["sent"]
