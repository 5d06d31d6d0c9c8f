"""The web chat on real databases: the socket handler stores first, the pipeline and the
built-in assistant answer through the outbox, the web chat sender writes the history and
pushes it, and a reconnect replays what was missed (no message lost or shown twice).

The socket is Starlette's in-process test client; the inbound processor and the outbox are
run by the test, so every step is deterministic.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from starlette.websockets import WebSocketDisconnect

from bot.bootstrap import App, bootstrap
from bot.domain.model import Channel
from bot.settings import Settings, Team, Webchat
from bot.storage import tables as t
from bot.storage.tables_webchat import webchat_messages
from bot.web.app import create_app
from channels.base import CollectingSender
from channels.webchat.adapter import WebchatSender, decode
from tests.fakes import FakeClock, KeywordClassifier
from tests.support.browser import closed_clock, office_hours_clock

with warnings.catch_warnings():
    # Starlette would like the httpx2 fork for its test client; httpx works the same here.
    warnings.simplefilter("ignore", UserWarning)
    from starlette.testclient import TestClient

pytestmark = pytest.mark.integration


def _settings(**webchat: Any) -> Settings:
    return Settings(
        teams=[Team(id="repairs", name="Repairs team")],
        routing={"repair": "repairs"},
        webchat=Webchat(**webchat),
    )


def _app(engine: sa.Engine, settings: Settings, clock: FakeClock) -> App:
    return bootstrap(
        settings,
        engine=engine,
        classifier=KeywordClassifier(),
        senders=[WebchatSender(), CollectingSender(Channel.EMAIL), CollectingSender(Channel.SMS)],
        decoders={Channel.WEBCHAT: decode},
        turn_handlers=None,  # the registry's: the built-in engine
        now=clock,
        run_migrations=False,
    )


class Chat:
    """One browser's side of the protocol, plus the workers the server would run."""

    def __init__(self, app: App, client: TestClient, ws: Any) -> None:
        self.app, self.client, self.ws = app, client, ws
        self.welcome: dict[str, Any] = {}

    def hello(self, token: str | None = None, after: int = 0) -> list[dict[str, Any]]:
        self.ws.send_json({"type": "hello", "token": token, "after": after})
        self.welcome = self.ws.receive_json()
        assert self.welcome["type"] == "welcome"
        return self.until("ready")

    def until(self, kind: str) -> list[dict[str, Any]]:
        frames: list[dict[str, Any]] = []
        while True:
            frame = self.ws.receive_json()
            if frame["type"] == kind:
                return frames
            frames.append(frame)

    def say(self, client_id: str, text: str, **extra: Any) -> dict[str, Any]:
        self.ws.send_json({"type": "message", "id": client_id, "text": text, **extra})
        return dict(self.ws.receive_json())

    def work(self) -> None:
        """What `doorstep serve` does in the background: process, then deliver."""
        self.app.pipeline.process_pending()
        asyncio.run(self.app.outbox.run_once(limit=100))

    def reply(self) -> dict[str, Any]:
        self.work()
        frame = dict(self.ws.receive_json())
        assert frame["type"] == "message" and frame["role"] == "assistant", frame
        return frame


@contextmanager
def chat(app: App, headers: dict[str, str] | None = None) -> Iterator[Chat]:
    with (
        TestClient(create_app(app, run_workers=False)) as client,
        client.websocket_connect("/ws/chat", headers=headers or {}) as ws,
    ):
        yield Chat(app, client, ws)


def _count(engine: sa.Engine, table: sa.Table, *where: Any) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).one()[0]
        )


def test_a_chat_gets_a_reference_and_follow_ups_join_it(engine: sa.Engine) -> None:
    settings = _settings()
    clock = office_hours_clock(settings)
    app = _app(engine, settings, clock)
    with chat(app) as c:
        assert c.hello() == []
        mine = c.say("m1", "My boiler is broken")
        assert (mine["role"], mine["id"], mine["seq"]) == ("resident", "m1", 1)
        ack = c.reply()
        reference = ack["reference"]
        assert reference.startswith("DS-")
        assert f"Your reference is {reference}" in ack["text"]
        assert "Repairs team will reply by" in ack["text"]
        assert ack["buttons"] == [
            {"title": "Talk to a person", "payload": "I would like to talk to a person"}
        ]
        c.say("m2", "It is making a loud bang too")
        follow = c.reply()
        assert f"added this to your enquiry {reference}" in follow["text"]
        assert follow["seq"] == 4

    # One interaction, one acknowledgement (ACK-2), and the stored raw payload came first.
    assert _count(engine, t.interactions) == 1
    assert _count(engine, t.outbox, t.outbox.c.kind == "acknowledgement") == 1
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.inbound_messages).order_by(t.inbound_messages.c.id)).all()
    assert [r.status for r in rows] == ["processed", "joined"]
    assert json.loads(rows[0].raw)["text"] == "My boiler is broken"


def test_asking_for_a_person_in_office_hours_hands_over(engine: sa.Engine) -> None:
    settings = _settings()
    app = _app(engine, settings, office_hours_clock(settings))
    with chat(app) as c:
        c.hello()
        c.say("m1", "My kitchen tap is broken")
        c.reply()
        c.say("m2", "I would like to talk to a person", display="Talk to a person")
        handoff = c.reply()
        assert "I have asked the Repairs team to pick this up" in handoff["text"]
        assert "They will reply here by" in handoff["text"]
        # In office hours, the number to call now as well as the honest deadline.
        assert f"call us on {settings.organisation.phone}" in handoff["text"]
        c.say("m3", "Can I speak to someone please")
        again = c.reply()
        assert "You have already asked for a person" in again["text"]

    with engine.connect() as conn:
        events = conn.execute(
            sa.select(t.events.c.detail).where(t.events.c.kind == "handoff_requested")
        ).all()
        shown = conn.execute(
            sa.select(webchat_messages.c.body).where(webchat_messages.c.client_id == "m2")
        ).scalar_one()
    assert len(events) == 1 and events[0].detail["team"] == "repairs"
    assert events[0].detail["office_open"] is True
    assert shown == "Talk to a person"  # the button's title, not its payload


def test_out_of_hours_says_when_and_gives_the_emergency_route(engine: sa.Engine) -> None:
    settings = _settings()
    app = _app(engine, settings, closed_clock(settings))
    with chat(app) as c:
        c.hello()
        c.say("m1", "There is a leak under my sink")
        text = c.reply()["text"]
    org = settings.organisation
    assert text.count("Our office is closed now.") == 1  # it used to be said twice
    assert text.count(org.emergency_phone) == 1
    assert f"We are open {org.opening_hours_text}" in text
    assert org.emergency_phone in text
    assert "call 999" in text
    assert "will reply by" in text


def test_gas_gets_the_gas_emergency_number(engine: sa.Engine) -> None:
    settings = _settings()
    app = _app(engine, settings, office_hours_clock(settings))
    with chat(app) as c:
        c.hello()
        c.say("m1", "I can smell gas in the hall")
        text = c.reply()["text"]
    assert "0800 111 999" in text


def test_resend_after_a_drop_is_stored_once_and_resume_replays_only_what_was_missed(
    engine: sa.Engine,
) -> None:
    settings = _settings()
    app = _app(engine, settings, office_hours_clock(settings))
    with chat(app) as c:
        c.hello()
        c.say("m1", "My boiler is broken")
        first_reply = c.reply()
        token = c.welcome["token"]
    # While the resident is away, staff (or the assistant) answer: the history keeps it.
    with chat(app) as c:
        assert [f["seq"] for f in c.hello(token=token, after=0)] == [1, 2]  # page reload
    with chat(app) as c:
        assert c.hello(token=token, after=first_reply["seq"]) == []
        # The browser never saw the confirmation of m2, so it sends it again: stored once.
        c.say("m2", "Any news?")
        again = c.say("m2", "Any news?")
        assert again["seq"] == 3
        c.work()
        reply = c.ws.receive_json()
        assert reply["seq"] == 4
    with chat(app) as c:
        assert [f["seq"] for f in c.hello(token=token, after=3)] == [4]
    assert _count(engine, t.inbound_messages) == 2
    assert _count(engine, webchat_messages) == 4


def test_a_retried_outbox_send_is_shown_once(engine: sa.Engine) -> None:
    settings = _settings()
    app = _app(engine, settings, office_hours_clock(settings))
    with chat(app) as c:
        c.hello()
        c.say("m1", "My boiler is broken")
        c.work()
        c.ws.receive_json()
        sender = app.senders.get(Channel.WEBCHAT)
        with engine.connect() as conn:
            row = conn.execute(sa.select(t.outbox)).one()
        from bot.outbox import _row_to_claimed

        asyncio.run(sender.send(_row_to_claimed(row).message))
    assert _count(engine, webchat_messages) == 2


def test_limits_are_answered_clearly(engine: sa.Engine) -> None:
    settings = _settings(max_message_chars=50, messages_per_minute=2)
    app = _app(engine, settings, office_hours_clock(settings))
    with chat(app) as c:
        c.hello()
        too_long = c.say("m0", "x" * 51)
        assert too_long["code"] == "too_long" and too_long["id"] == "m0"
        assert "under 50 characters" in too_long["message"]
        assert c.say("m1", "one")["type"] == "message"
        assert c.say("m2", "two")["type"] == "message"
        limited = c.say("m3", "three")
        assert limited["code"] == "rate_limited" and "wait a minute" in limited["message"]
        assert c.say("m2", "two")["type"] == "message"  # a resend is not a new message
        bad = c.say("no spaces allowed", "hi")
        assert bad["code"] == "bad_request"
    assert _count(engine, t.inbound_messages) == 2


def test_origin_check(engine: sa.Engine) -> None:
    settings = _settings(allowed_origins=["https://www.landlord.example"])
    app = _app(engine, settings, office_hours_clock(settings))
    with chat(app, headers={"origin": "https://www.landlord.example"}) as c:
        c.hello()
    with chat(app, headers={"origin": "http://testserver"}) as c:  # same origin
        c.hello()
    with pytest.raises(WebSocketDisconnect), chat(app, headers={"origin": "https://evil.example"}):
        pass


def test_unknown_token_starts_a_new_session_and_a_stale_cursor_resets(engine: sa.Engine) -> None:
    settings = _settings()
    app = _app(engine, settings, office_hours_clock(settings))
    with chat(app) as c:
        c.hello(token="not-a-real-token", after=7)
        assert c.welcome["token"] != "not-a-real-token"
        assert c.welcome["reset"] is True


def test_the_demo_page_and_the_widget_script(engine: sa.Engine) -> None:
    settings = _settings()
    app = _app(engine, settings, office_hours_clock(settings))
    with TestClient(create_app(app, run_workers=False)) as client:
        page = client.get("/")
        script = client.get("/widget.js")
        css = client.get("/webchat/widget.css")
    org = settings.organisation
    assert page.status_code == 200
    assert org.emergency_phone in page.text and org.opening_hours_text in page.text
    assert '<script src="/widget.js"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert script.headers["content-type"].startswith("text/javascript")
    assert "__DOORSTEP_DEFAULTS__" not in script.text
    assert json.dumps(org.emergency_phone) in script.text
    assert css.status_code == 200
