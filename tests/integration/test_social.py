"""Social media end to end on the running app (ASGI) over real SQLite and PostgreSQL, with
Doorstep's real httpx client talking to a local fake of Meta's Graph API and X's API:
webhook -> stored -> pipeline -> outbox -> the fake API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bot.bootstrap import App, bootstrap
from bot.domain.model import Channel, OutboundMessage
from bot.settings import Settings
from bot.storage import tables as t
from bot.storage.repository import UnitOfWork
from bot.web.api_tokens import add_token
from bot.web.app import create_app
from channels.social.adapter import make_decoder, sender, turn_handler
from tests.fakes import FakeClock, KeywordClassifier
from tests.support.fake_social import (
    PAGE_ID,
    VERIFY_TOKEN,
    X_SECRET,
    FakeSocial,
    instagram_comment,
    messenger_dm,
    page_comment,
    running_fake_social,
    signed_meta,
    signed_x,
    social_settings,
    x_dm,
    x_mention,
)

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


class Harness:
    def __init__(self, engine: sa.Engine, fake: FakeSocial, clock: FakeClock) -> None:
        self.fake = fake
        self.clock = clock
        self.settings = Settings(social=social_settings(fake))
        social_sender = sender(self.settings, now=clock)
        assert social_sender is not None
        self.sender = social_sender
        self.app: App = bootstrap(
            self.settings,
            engine=engine,
            classifier=KeywordClassifier(),
            senders=[self.sender],
            decoders={Channel.SOCIAL: make_decoder(now=clock)},
            turn_handlers={Channel.SOCIAL: turn_handler(self.settings)},  # type: ignore[dict-item]
            now=clock,
            run_migrations=False,
        )
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(self.app, run_workers=False)),
            base_url="http://testserver",
        )

    async def meta(self, payload: dict[str, Any], **headers: str) -> httpx.Response:
        body, signed = signed_meta(payload)
        return await self.client.post("/webhooks/meta", content=body, headers={**signed, **headers})

    async def x(self, payload: dict[str, Any]) -> httpx.Response:
        body, signed = signed_x(payload)
        return await self.client.post("/webhooks/x", content=body, headers=signed)

    async def settle(self) -> None:
        self.app.pipeline.process_pending()
        await self.app.outbox.run_once(limit=100)

    def rows(self, table: sa.Table) -> list[Any]:
        with self.app.engine.connect() as conn:
            return list(conn.execute(sa.select(table).order_by(table.c.id)).all())


@pytest.fixture
def fake() -> Iterator[FakeSocial]:
    with running_fake_social() as server:
        yield server


@pytest.fixture
async def harness(engine: sa.Engine, fake: FakeSocial) -> AsyncIterator[Harness]:
    h = Harness(engine, fake, FakeClock(MONDAY_10))
    yield h
    await h.client.aclose()
    await h.sender.aclose()


async def test_verify_handshake_echoes_the_challenge_only_with_our_token(harness: Harness) -> None:
    ok = await harness.client.get(
        "/webhooks/meta",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"},
    )
    assert (ok.status_code, ok.text) == (200, "42")
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "42"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"},
        {},
    ):
        assert (await harness.client.get("/webhooks/meta", params=params)).status_code == 403


async def test_x_crc_challenge(harness: Harness) -> None:
    from channels.social.signatures import x_crc_response

    answer = await harness.client.get("/webhooks/x", params={"crc_token": "abc"})
    assert answer.json() == {"response_token": x_crc_response(X_SECRET, "abc")}
    assert (await harness.client.get("/webhooks/x")).status_code == 403


@pytest.mark.parametrize("forgery", ["missing", "wrong", "tampered"])
async def test_forged_missing_or_tampered_signature_is_403_and_nothing_is_stored(
    harness: Harness, forgery: str
) -> None:
    body, headers = signed_meta(messenger_dm("my boiler is broken", "m_forged"))
    if forgery == "missing":
        del headers["X-Hub-Signature-256"]
    elif forgery == "wrong":
        headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    else:
        body = body.replace(b"boiler", b"BOILER")
    response = await harness.client.post("/webhooks/meta", content=body, headers=headers)
    assert response.status_code == 403
    xbody, xheaders = signed_x(x_dm("hi", "dm-forged"))
    xheaders["x-twitter-webhooks-signature"] = "sha256=AAAA"
    assert (
        await harness.client.post("/webhooks/x", content=xbody, headers=xheaders)
    ).status_code == 403
    assert harness.rows(t.inbound_messages) == []


async def test_a_body_over_the_limit_is_refused_before_it_is_read(harness: Harness) -> None:
    big = b"{" + b" " * (harness.settings.social.max_body_bytes + 10) + b"}"
    response = await harness.client.post("/webhooks/meta", content=big)
    assert response.status_code == 413
    assert harness.rows(t.inbound_messages) == []


async def test_a_messenger_dm_is_acknowledged_with_reference_and_deadline(harness: Harness) -> None:
    response = await harness.meta(messenger_dm("My boiler is broken, no heating", "m_100"))
    assert (response.status_code, response.text) == (200, "EVENT_RECEIVED")
    assert [r.status for r in harness.rows(t.inbound_messages)] == ["received"]  # stored first
    await harness.settle()
    (call,) = harness.fake.wait_for(1)
    assert call.path == f"/v21.0/{PAGE_ID}/messages"
    assert call.body["recipient"] == {"id": "psid-1"}
    assert call.body["messaging_type"] == "RESPONSE"  # never HUMAN_AGENT on an automatic reply
    text = call.body["message"]["text"]
    (interaction,) = harness.rows(t.interactions)
    assert interaction.reference in text and "will reply by" in text
    assert interaction.channel == "social"
    clocks = {c.policy: c for c in harness.rows(t.clocks)}
    assert "social" in clocks  # SOCIAL: by the end of the following working day


async def test_a_redelivered_webhook_is_stored_once_and_answered_once(harness: Harness) -> None:
    payload = messenger_dm("Leak under the sink", "m_200")
    for _ in range(3):
        assert (await harness.meta(payload)).status_code == 200
    await harness.settle()
    await harness.settle()
    assert len(harness.rows(t.inbound_messages)) == 1
    assert len(harness.fake.calls) == 1


async def test_echoes_of_our_own_sends_are_ignored_and_receipts_update_the_outbox(
    harness: Harness,
) -> None:
    await harness.meta(messenger_dm("Window won't shut", "m_300"))
    await harness.settle()
    (row,) = harness.rows(t.outbox)
    echo = messenger_dm("our reply", row.provider_id)
    echo["entry"][0]["messaging"][0]["message"]["is_echo"] = True
    receipt = {
        "object": "page",
        "entry": [
            {
                "id": PAGE_ID,
                "messaging": [
                    {
                        "sender": {"id": "psid-1"},
                        "recipient": {"id": PAGE_ID},
                        "timestamp": 1,
                        "delivery": {"mids": [row.provider_id], "watermark": 1},
                    }
                ],
            }
        ],
    }
    await harness.meta(echo)
    await harness.meta(receipt)
    assert len(harness.rows(t.inbound_messages)) == 1
    assert harness.rows(t.outbox)[0].provider_status == "delivered"


async def test_a_public_comment_gets_a_holding_line_in_public_and_one_private_reply(
    harness: Harness,
) -> None:
    await harness.meta(page_comment("3 weeks and still no heating at 4 Elm Road", "555_9"))
    await harness.settle()
    calls = harness.fake.wait_for(2)
    public = next(c for c in calls if c.path.endswith("/comments"))
    private = next(c for c in calls if c.path.endswith("/messages"))
    assert public.path == "/v21.0/555_9/comments"
    (interaction,) = harness.rows(t.interactions)
    # Never discuss a case in public: no reference, no address, no deadline in the open.
    assert interaction.reference not in public.body["message"]
    assert "private message" in public.body["message"]
    assert private.body["recipient"] == {"comment_id": "555_9"}
    assert interaction.reference in private.body["message"]["text"]
    # A second pass sends nothing more: one private reply per comment.
    await harness.settle()
    assert len(harness.fake.calls) == 2


async def test_an_emergency_in_a_comment_gets_the_signposts_in_public_at_once(
    harness: Harness,
) -> None:
    await harness.meta(instagram_comment("I can smell gas in the hallway of our block", "ig_9"))
    await harness.settle()
    calls = harness.fake.wait_for(2)
    public = next(c for c in calls if c.path.endswith("/replies"))
    assert "0800 111 999" in public.body["message"]
    # What to do now comes first.
    assert public.body["message"].index("0800 111 999") < public.body["message"].index("Thanks")


async def test_an_abusive_comment_is_hidden_and_shown_to_staff_not_answered(
    harness: Harness,
) -> None:
    await harness.meta(page_comment("you fucking useless lot", "555_abuse"))
    await harness.settle()
    (call,) = harness.fake.wait_for(1)
    assert call.path == "/v21.0/555_abuse" and call.body == {"is_hidden": True}
    assert harness.fake.hidden == {"555_abuse"}
    assert len(harness.rows(t.interactions)) == 1  # staff see it in the queue
    kinds = [e.kind for e in harness.rows(t.events)]
    assert "comment_hidden" in kinds


async def test_x_dm_answered_by_dm_and_a_mention_asked_to_send_a_dm(harness: Harness) -> None:
    assert (await harness.x(x_dm("The lift is broken again", "dm-1"))).status_code == 200
    assert (await harness.x(x_mention("@landlord sort out the lift", "t-1"))).status_code == 200
    await harness.settle()
    calls = harness.fake.wait_for(2)
    dm = next(c for c in calls if c.path.endswith("/messages"))
    reply = next(c for c in calls if c.path == "/2/tweets")
    assert dm.path == "/2/dm_conversations/with/9001/messages"
    assert "reference" in dm.body["text"]
    assert reply.body["reply"] == {"in_reply_to_tweet_id": "t-1"}
    assert "direct message" in reply.body["text"]


async def test_staff_reply_after_24_hours_is_tagged_and_after_7_days_refused(
    harness: Harness,
) -> None:
    now = MONDAY_10
    with UnitOfWork(harness.app.engine, lambda: now) as uow:
        for key, age, auto in (
            ("late", timedelta(days=2), False),
            ("old", timedelta(days=9), False),
        ):
            uow.enqueue(
                OutboundMessage(
                    Channel.SOCIAL,
                    "fb:psid-1",
                    "We can come on Tuesday.",
                    key,
                    auto=auto,
                    kind="reply",
                    meta={"resident_last_at": (now - age).isoformat()},
                )
            )
        uow.commit()
    await harness.app.outbox.run_once(limit=10)
    (call,) = harness.fake.wait_for(1)
    assert call.body["tag"] == "HUMAN_AGENT"
    rows = {r.idempotency_key: r for r in harness.rows(t.outbox)}
    assert rows["late"].status == "sent"
    assert rows["old"].status == "failed"  # staff see why, nothing dropped silently
    assert "7 days" in rows["old"].last_error


async def test_an_expired_page_token_is_a_clear_state_and_the_message_is_kept(
    harness: Harness,
) -> None:
    harness.fake.fail_next("token_expired")
    await harness.meta(messenger_dm("Help with my rent", "m_400"))
    await harness.settle()
    (row,) = harness.rows(t.outbox)
    assert row.status == "pending"  # kept for retry once the token is renewed
    with harness.app.engine.begin() as conn:
        _, token = add_token(conn, name="monitoring", scope="read", now=MONDAY_10)
    auth = {"Authorization": f"Bearer {token}"}
    status = (await harness.client.get("/api/status", headers=auth)).json()
    assert "renew" in status["channels"]["social"]["meta"]


async def test_a_staff_reply_is_signed_and_keeps_metas_window(harness: Harness) -> None:
    from actions.replies import Actor, send_reply

    await harness.meta(messenger_dm("When is the plumber coming?", "m_500"))
    await harness.settle()
    (interaction,) = harness.rows(t.interactions)
    ann = Actor(email="ann@landlord.example", name="Ann Agent", role="agent", team="repairs")
    for nonce, hours in (("a", 1), ("b", 30)):
        harness.clock.current = MONDAY_10 + timedelta(hours=hours)
        with UnitOfWork(harness.app.engine, harness.app.now) as uow:
            assert send_reply(
                uow,
                harness.app,
                interaction.id,
                "Tuesday morning.",
                actor=ann,
                nonce=nonce,
                now=harness.app.now(),
            )
            uow.commit()
        await harness.app.outbox.run_once(limit=10)
    calls = harness.fake.wait_for(3)
    first, late = calls[1], calls[2]
    assert first.body["messaging_type"] == "RESPONSE"
    assert first.body["message"]["text"].startswith("Tuesday morning.")
    assert "Ann, " in first.body["message"]["text"]  # SOCIAL: signed with a first name
    assert (late.body["messaging_type"], late.body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


async def test_staff_see_a_comment_as_public_with_its_post(harness: Harness) -> None:
    from bot.web.dashboard.queries import timeline

    await harness.meta(page_comment("Still waiting for the roofer", "555_77"))
    await harness.settle()
    (interaction,) = harness.rows(t.interactions)
    with harness.app.engine.connect() as conn:
        entries = timeline(conn, interaction.id)
    said = next(e for e in entries if e.who == "resident")
    assert said.text.startswith(f"[Public comment on Facebook on post {PAGE_ID}_555]")
    assert said.address == "fb:user-7" and said.channel == "social"


async def test_an_expired_page_token_is_shown_to_staff_on_every_page(harness: Harness) -> None:
    import re

    from bot.storage.tables_staff import staff_users
    from bot.web.dashboard.auth import hash_password

    harness.fake.fail_next("token_expired")
    await harness.meta(messenger_dm("Help with my rent", "m_410"))
    await harness.settle()
    with harness.app.engine.begin() as conn:
        conn.execute(
            staff_users.insert().values(
                email="rita@landlord.example",
                name="Rita Repairs",
                role="agent",
                team="customer-services",
                password_hash=hash_password("a long enough password"),
                active=True,
                created_at=MONDAY_10,
            )
        )
    form = await harness.client.get("/staff/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    await harness.client.post(
        "/staff/login",
        data={
            "email": "rita@landlord.example",
            "password": "a long enough password",
            "csrf": csrf.group(1),
        },
    )
    page = (await harness.client.get("/staff/")).text
    assert "Social media: page access token refused" in page
