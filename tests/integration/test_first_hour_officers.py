"""Officer-facing roughness from the first hour (issue 20), through the real dashboard on
both databases: an empty complaint summary is refused; a complaints-team notification that
could not be sent says so in the timeline instead of "notified"; team names read "the
Repairs team"."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa

from bot.bootstrap import bootstrap
from bot.domain.model import Channel
from bot.storage.tables_staff import staff_users
from bot.web.app import create_app
from channels.base import CollectingSender
from tests.fakes import FakeClock, KeywordClassifier
from tests.integration.helpers import json_decoder
from tests.integration.test_dashboard import (
    MONDAY,
    USERS,
    Env,
    _password_hash,
    dashboard_settings,
    env,
)

pytestmark = pytest.mark.integration

__all__ = ["env"]  # the dashboard's fixture, with every channel collecting


@pytest.fixture
async def env_without_email(engine: sa.Engine) -> AsyncIterator[Env]:
    """The dashboard with no email sender configured (no SMTP relay), as on a first start."""
    clock = FakeClock(MONDAY)
    app = bootstrap(
        dashboard_settings(),
        engine=engine,
        classifier=KeywordClassifier(),
        senders=[CollectingSender(Channel.SMS), CollectingSender(Channel.WEBCHAT)],
        decoders={c: json_decoder for c in Channel},
        turn_handlers={},
        now=clock,
        run_migrations=False,
    )
    with engine.begin() as conn:
        conn.execute(
            staff_users.insert(),
            [
                {
                    "email": email, "name": name, "role": role, "team": team,
                    "password_hash": _password_hash(), "active": True, "created_at": MONDAY,
                }
                for email, name, role, team in USERS
            ],
        )  # fmt: skip
    api = create_app(app, run_workers=False)
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Env(app, clock, client, engine)


async def test_an_empty_complaint_summary_is_refused(env: Env) -> None:
    interaction = env.receive("cp-empty", body="I want to complain about the repair")
    await env.login("chris@landlord.example")
    for summary in ("", "   \n  "):
        refused = await env.post(
            f"/staff/interactions/{interaction}/complaint/acknowledge",
            handler="chris@landlord.example",
            summary=summary,
        )
        assert "Write what we understand the complaint is about" in refused.text
    assert env.clocks(interaction)["complaint-stage1-ack"].is_open  # nothing happened
    assert env.outbox(interaction, kind="complaint_ack") == []
    page = await env.html(f"/staff/interactions/{interaction}")
    assert 'name="summary" rows="3" required' in page


async def test_a_failed_notification_is_shown_where_it_happened(env_without_email: Env) -> None:
    env = env_without_email
    interaction = env.receive("cp-fail", body="I want to complain about the repair")
    await env.login("chris@landlord.example")
    await env.post(
        f"/staff/interactions/{interaction}/complaint/acknowledge",
        handler="chris@landlord.example",
        summary="The repair to your kitchen was not finished.",
    )
    page = await env.html(f"/staff/interactions/{interaction}")
    assert "Complaints team notification waiting to be sent" in page
    await env.deliver_outbox()
    notes = env.outbox(kind="staff_notification")  # not tied to the case: staff mail
    assert notes and {n.status for n in notes} == {"failed"}
    page = await env.html(f"/staff/interactions/{interaction}")
    assert "Complaints team NOT notified" in page
    assert "no sender configured for channel" in page
    assert "Complaints team notified" not in page


async def test_a_sent_notification_still_says_notified(env: Env) -> None:
    interaction = env.receive("cp-ok", body="I want to complain about the repair")
    await env.login("chris@landlord.example")
    await env.post(
        f"/staff/interactions/{interaction}/complaint/acknowledge",
        handler="chris@landlord.example",
        summary="The repair to your kitchen was not finished.",
    )
    await env.deliver_outbox()
    page = await env.html(f"/staff/interactions/{interaction}")
    assert "Complaints team notified" in page and "NOT notified" not in page


async def test_messages_name_the_team_with_the(env: Env) -> None:
    interaction = env.receive("repair-the", body="My boiler is broken")
    (ack,) = env.outbox(interaction, kind="acknowledgement")
    assert "The Repairs team will deal with this" in ack.body
    assert "Repairs team" not in ack.body.replace("the Repairs team", "").replace(
        "The Repairs team", ""
    )
    await env.login("lee@landlord.example")
    moved = await env.post(f"/staff/interactions/{interaction}/transfer", team="asb", owner="")
    assert "Passed to the Community Safety team" in moved.text
    (handoff,) = env.outbox(interaction, kind="handoff")
    assert "passed your message to the Community Safety team" in handoff.body
    assert json.dumps(handoff.body)  # plain text, nothing odd
