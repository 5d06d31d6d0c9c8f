"""Chat isolation on real databases (PRIVACY, issue 13): the chat's own page for the
iframe, a token that stops working after the idle time or when the resident ends the chat,
and nothing the resident sent lost either way."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.storage import tables as t
from tests.integration.test_webchat import TestClient, _app, _settings, chat
from tests.support.browser import office_hours_clock

pytestmark = pytest.mark.integration


def test_the_chat_page_may_be_framed_only_by_the_landlords_sites(engine: sa.Engine) -> None:
    settings = _settings(allowed_origins=["https://www.landlord.example"])
    app = _app(engine, settings, office_hours_clock(settings))
    from bot.web.app import create_app

    with TestClient(create_app(app, run_workers=False)) as client:
        page = client.get("/webchat/frame")
        script = client.get("/webchat/chat.js")
        loader = client.get("/widget.js")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'self' https://www.landlord.example" in csp
    assert "script-src 'self'" in csp and page.headers["cache-control"] == "no-store"
    assert '<script src="/webchat/chat.js">' in page.text
    assert "__DOORSTEP_DEFAULTS__" not in script.text and "ds-chat-end" in script.text
    assert "/webchat/frame" in loader.text and "localStorage" not in loader.text


def test_ending_a_chat_or_leaving_it_idle_retires_its_token(engine: sa.Engine) -> None:
    settings = _settings(idle_timeout_hours=24)
    clock = office_hours_clock(settings)
    app = _app(engine, settings, clock)
    with chat(app) as c:
        c.hello()
        token, session = c.welcome["token"], c.welcome["session"]
        assert c.welcome["idleSeconds"] == 24 * 3600 and c.welcome["expired"] is False
        c.say("m1", "My boiler is broken")
        c.reply()
    clock.advance(hours=23)
    with chat(app) as c:
        c.hello(token, after=0)
        assert c.welcome["session"] == session  # still within the idle time
    clock.advance(hours=24, minutes=1)
    with chat(app) as c:
        c.hello(token)
        assert c.welcome["session"] != session and c.welcome["expired"] is True
        fresh = c.welcome["token"]
        c.say("m1", "Someone is shouting outside")
        c.reply()
        c.ws.send_json({"type": "end"})
        assert c.ws.receive_json() == {"type": "ended"}
    with chat(app) as c:
        c.hello(fresh)
        assert c.welcome["session"] not in (session,) and c.welcome["expired"] is False
        assert c.welcome["token"] != fresh
    with engine.connect() as conn:
        bodies = conn.execute(
            sa.select(t.inbound_messages.c.body).order_by(t.inbound_messages.c.id)
        ).scalars()
        assert list(bodies) == ["My boiler is broken", "Someone is shouting outside"]
