"""The Twilio webhooks on the running app (FastAPI TestClient) over real SQLite and
PostgreSQL: signatures on the public URL, store first, duplicates, opt-out words, HELP,
quiet hours, delivery status."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bot.bootstrap import App, bootstrap
from bot.domain.model import Channel
from bot.storage import tables as t
from bot.web.app import create_app
from channels.base import CollectingSender
from channels.sms.adapter import make_decoder, turn_handler
from tests.fakes import FakeClock, KeywordClassifier
from tests.support.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    inbound_form,
    signed_form,
    sms_settings,
)

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PUBLIC = "https://doorstep.example.org"
RESIDENT = "+447700900123"


class Harness:
    def __init__(self, engine: sa.Engine, clock: FakeClock, **overrides: Any) -> None:
        self.settings = sms_settings(**overrides)
        self.clock = clock
        self.sms = CollectingSender(Channel.SMS)
        self.email = CollectingSender(Channel.EMAIL)
        self.app: App = bootstrap(
            self.settings,
            engine=engine,
            classifier=KeywordClassifier(),
            senders=[self.sms, self.email],
            decoders={Channel.SMS: make_decoder(ACCOUNT_SID, now=clock)},
            turn_handlers={Channel.SMS: turn_handler(self.settings)},
            now=clock,
            run_migrations=False,
        )
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(self.app, run_workers=False)),
            base_url="http://testserver",
        )

    async def text(
        self, body: str, sid: str, *, sender: str = RESIDENT, url: str | None = None
    ) -> Any:
        form = inbound_form(body, sid=sid, sender=sender)
        content, headers = signed_form(AUTH_TOKEN, url or f"{PUBLIC}/webhooks/twilio/sms", form)
        return await self.client.post("/webhooks/twilio/sms", content=content, headers=headers)

    def process(self) -> list[Any]:
        return self.app.pipeline.process_pending()

    async def send_all(self) -> None:
        await self.app.outbox.run_once(limit=100)

    def rows(self, table: sa.Table) -> list[Any]:
        with self.app.engine.connect() as conn:
            return list(conn.execute(sa.select(table).order_by(table.c.id)).all())


@pytest.fixture
async def harness(engine: sa.Engine) -> AsyncIterator[Harness]:
    h = Harness(engine, FakeClock(MONDAY_10))
    yield h
    await h.client.aclose()


async def test_signed_text_is_stored_answered_with_empty_twiml_and_acknowledged(
    harness: Harness,
) -> None:
    response = await harness.text("My boiler is broken", "SM" + "1" * 32)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert "<Response></Response>" in response.text
    # Stored before anything else: nothing processed yet.
    assert [r.status for r in harness.rows(t.inbound_messages)] == ["received"]
    (outcome,) = harness.process()
    assert outcome.status == "processed"
    await harness.send_all()
    (ack,) = harness.sms.sent
    assert ack.recipient == RESIDENT
    assert outcome.reference is not None and outcome.reference in ack.body
    assert "Repairs team will reply by 5pm on" in ack.body
    assert ack.meta["segments"] in ("1", "2") and ack.meta["encoding"] == "GSM-7"
    interaction = harness.rows(t.interactions)[0]
    assert (interaction.channel, interaction.team) == ("sms", "repairs")


async def test_duplicate_message_sid_is_harmless(harness: Harness) -> None:
    sid = "SM" + "2" * 32
    assert (await harness.text("Leak under the sink", sid)).status_code == 200
    assert (await harness.text("Leak under the sink", sid)).status_code == 200  # Twilio retried
    assert len(harness.rows(t.inbound_messages)) == 1
    harness.process()
    await harness.send_all()
    assert len(harness.sms.sent) == 1


@pytest.mark.parametrize("signature", [None, "", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="])
async def test_forged_or_unsigned_webhook_is_403_and_nothing_is_stored(
    harness: Harness, signature: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    form = inbound_form("STOP", sid="SM" + "3" * 32)
    content, headers = signed_form(AUTH_TOKEN, f"{PUBLIC}/webhooks/twilio/sms", form)
    if signature is None:
        del headers["X-Twilio-Signature"]
    else:
        headers["X-Twilio-Signature"] = signature
    response = await harness.client.post("/webhooks/twilio/sms", content=content, headers=headers)
    assert response.status_code == 403
    assert harness.rows(t.inbound_messages) == []
    assert harness.rows(t.address_holds) == []  # a forged STOP changes nothing
    assert "rejected Twilio webhook" in caplog.text
    assert "900123" not in caplog.text  # numbers redacted


async def test_tampered_body_is_rejected(harness: Harness) -> None:
    form = inbound_form("hello", sid="SM" + "4" * 32)
    content, headers = signed_form(AUTH_TOKEN, f"{PUBLIC}/webhooks/twilio/sms", form)
    response = await harness.client.post(
        "/webhooks/twilio/sms", content=content.replace("hello", "goodbye"), headers=headers
    )
    assert response.status_code == 403


async def test_signature_is_checked_on_the_public_url_behind_a_proxy(engine: sa.Engine) -> None:
    h = Harness(engine, FakeClock(MONDAY_10), public_url="https://proxy.example.org/doorstep")
    public = "https://proxy.example.org/doorstep/webhooks/twilio/sms"
    # Twilio signed the public URL it called; the app sees a local one.
    assert (await h.text("Boiler broken", "SM" + "5" * 32, url=public)).status_code == 200
    local = "http://testserver/webhooks/twilio/sms"
    assert (await h.text("Boiler broken", "SM" + "6" * 32, url=local)).status_code == 403
    assert len(h.rows(t.inbound_messages)) == 1


async def test_query_string_is_part_of_the_signed_url(harness: Harness) -> None:
    form = inbound_form("Boiler broken", sid="SM" + "7" * 32)
    url = f"{PUBLIC}/webhooks/twilio/sms?site=leeds"
    content, headers = signed_form(AUTH_TOKEN, url, form)
    ok = await harness.client.post(
        "/webhooks/twilio/sms?site=leeds", content=content, headers=headers
    )
    assert ok.status_code == 200
    bad = await harness.client.post(
        "/webhooks/twilio/sms?site=york", content=content, headers=headers
    )
    assert bad.status_code == 403


async def test_stop_puts_the_number_on_hold_with_no_interaction_or_reply(harness: Harness) -> None:
    assert (await harness.text("Stop", "SM" + "8" * 32)).status_code == 200
    holds = harness.rows(t.address_holds)
    assert [(h.channel, h.address, h.until) for h in holds] == [("sms", RESIDENT, None)]
    (outcome,) = harness.process()
    assert outcome.status == "suppressed"
    await harness.send_all()
    assert harness.sms.sent == []
    assert harness.rows(t.interactions) == []
    # While on hold, an ordinary text opens an interaction but gets no automatic text.
    await harness.text("My boiler is broken", "SM" + "9" * 32)
    harness.process()
    await harness.send_all()
    assert harness.sms.sent == []
    # START lifts the hold (Twilio itself confirms it), and texts flow again.
    await harness.text("START", "SM" + "a" * 32)
    assert harness.rows(t.address_holds) == []
    await harness.text("There is a leak", "SM" + "b" * 32)
    harness.process()
    await harness.send_all()
    assert len(harness.sms.sent) == 1


async def test_cancel_my_appointment_is_not_an_opt_out(harness: Harness) -> None:
    await harness.text("cancel my appointment please", "SM" + "c" * 32)
    assert harness.rows(t.address_holds) == []


async def test_yes_opts_back_in_only_when_on_hold(harness: Harness) -> None:
    await harness.text("STOP", "SM" + "d" * 32)
    await harness.text("YES", "SM" + "e" * 32)
    assert harness.rows(t.address_holds) == []
    outcomes = harness.process()
    await harness.send_all()
    assert [o.status for o in outcomes] == ["suppressed", "processed"]
    assert harness.sms.sent == []  # an opt-in YES gets no acknowledgement
    assert [i.status for i in harness.rows(t.interactions)] == ["closed"]


async def test_help_gets_contact_details_at_once(harness: Harness) -> None:
    harness.clock.current = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)  # quiet hours
    await harness.text("HELP", "SM" + "f" * 32)
    harness.process()
    await harness.send_all()
    (reply,) = harness.sms.sent
    assert reply.kind == "help"
    assert harness.settings.organisation.phone in reply.body
    assert harness.settings.organisation.emergency_phone in reply.body
    assert [i.status for i in harness.rows(t.interactions)] == ["closed"]


async def test_quiet_hours_hold_a_routine_acknowledgement_until_morning(harness: Harness) -> None:
    harness.clock.current = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)
    await harness.text("The fence is broken", "SM" + "0" * 31 + "1")
    harness.process()
    await harness.send_all()
    assert harness.sms.sent == []
    (row,) = harness.rows(t.outbox)
    assert row.next_attempt_at == datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    harness.clock.current = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    await harness.send_all()
    assert len(harness.sms.sent) == 1


async def test_an_emergency_is_acknowledged_at_once_in_quiet_hours(harness: Harness) -> None:
    harness.clock.current = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)
    await harness.text("I can smell gas in the kitchen", "SM" + "0" * 31 + "2")
    harness.process()
    await harness.send_all()
    (ack,) = harness.sms.sent
    assert "0800 111 999" in ack.body
    assert harness.settings.organisation.emergency_phone in ack.body


async def test_status_callbacks_track_delivery_and_never_go_backwards(harness: Harness) -> None:
    await harness.text("Boiler broken", "SM" + "0" * 31 + "3")
    harness.process()
    await harness.send_all()
    (row,) = harness.rows(t.outbox)
    sid = row.provider_id

    async def status(state: str, **extra: str) -> int:
        form = {"MessageSid": sid, "MessageStatus": state, "AccountSid": ACCOUNT_SID, **extra}
        content, headers = signed_form(AUTH_TOKEN, f"{PUBLIC}/webhooks/twilio/status", form)
        response = await harness.client.post(
            "/webhooks/twilio/status", content=content, headers=headers
        )
        return response.status_code

    assert await status("sent") == 204
    assert await status("delivered") == 204
    assert await status("sent") == 204  # arrived late: ignored
    assert harness.rows(t.outbox)[0].provider_status == "delivered"
    content, headers = signed_form(
        "wrong-token",
        f"{PUBLIC}/webhooks/twilio/status",
        {"MessageSid": sid, "MessageStatus": "failed"},
    )
    forged = await harness.client.post("/webhooks/twilio/status", content=content, headers=headers)
    assert forged.status_code == 403
    assert harness.rows(t.outbox)[0].provider_status == "delivered"


async def test_a_follow_up_text_joins_the_open_conversation(harness: Harness) -> None:
    """ACK-2: a text has no thread headers; a follow-up from the same number within a day
    joins the interaction it was told about, and gets no second acknowledgement."""
    await harness.text("My boiler is broken", "SM" + "d" * 32)
    harness.process()
    await harness.send_all()
    assert len(harness.sms.sent) == 1
    await harness.text("and the hall light has gone too", "SM" + "e" * 32)
    (outcome,) = harness.process()
    await harness.send_all()
    assert outcome.status == "joined"
    assert len(harness.rows(t.interactions)) == 1
    assert len([m for m in harness.sms.sent if m.kind == "acknowledgement"]) == 1
