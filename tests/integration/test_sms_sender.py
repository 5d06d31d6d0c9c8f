"""The real Twilio SDK against a local fake of the REST API: what it sends, how errors are
translated, and what happens after a text fails (opt-out hold, email fall-back)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.bootstrap import bootstrap
from bot.domain.model import Channel, OutboundMessage
from bot.storage import tables as t
from bot.storage.repository import UnitOfWork
from bot.storage.tables_sms import sms_failures
from channels.base import CollectingSender, PermanentSendError, TransientSendError
from channels.sms.adapter import sender as build_sender
from channels.sms.delivery import follow_up_failures
from channels.sms.sender import OptedOutError, TwilioSender
from tests.fakes import FakeClock, KeywordClassifier
from tests.support.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    OUR_NUMBER,
    FakeTwilio,
    running_fake_twilio,
    sms_settings,
)

pytestmark = pytest.mark.integration

RESIDENT = "+447700900123"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with running_fake_twilio(ACCOUNT_SID, AUTH_TOKEN) as server:
        yield server


def _sender(fake: FakeTwilio) -> TwilioSender:
    built = build_sender(sms_settings(fake.url))
    assert isinstance(built, TwilioSender)
    return built


def _text(body: str = "Hello", key: str = "k1") -> OutboundMessage:
    return OutboundMessage(channel=Channel.SMS, recipient=RESIDENT, body=body, idempotency_key=key)


async def test_sends_through_the_sdk_with_our_number_and_status_callback(
    fake: FakeTwilio,
) -> None:
    body = "Your repair is on Tuesday \u2013 we\u2019ll text the day before.\n\nThanks"
    result = await _sender(fake).send(_text(body))
    (sent,) = fake.messages
    assert result.provider_id == sent.sid and result.status == "queued"
    assert sent.account_sid == ACCOUNT_SID and sent.auth_user == ACCOUNT_SID
    assert sent.form["To"] == RESIDENT and sent.form["From"] == OUR_NUMBER
    assert sent.form["StatusCallback"] == "https://doorstep.example.org/webhooks/twilio/status"
    # GSM-7, and one concatenated message however many lines.
    assert sent.body == "Your repair is on Tuesday - we'll text the day before.\n\nThanks"


async def test_messaging_service_instead_of_a_number(fake: FakeTwilio) -> None:
    settings = sms_settings(
        fake.url, sms={"from_number": None, "messaging_service_sid": "MG" + "0" * 32}
    )
    built = build_sender(settings)
    assert built is not None
    result = await built.send(_text())
    (sent,) = fake.messages
    assert sent.form["MessagingServiceSid"] == "MG" + "0" * 32 and "From" not in sent.form
    assert result.status == "accepted"


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, TransientSendError), (500, TransientSendError), (503, TransientSendError)],
)
async def test_busy_or_broken_twilio_is_transient(
    fake: FakeTwilio, status: int, error: type[Exception]
) -> None:
    fake.fail_next(status)
    with pytest.raises(error):
        await _sender(fake).send(_text())
    assert fake.messages == []


async def test_opted_out_number_is_permanent(fake: FakeTwilio) -> None:
    fake.fail_next(400, code=21610)
    with pytest.raises(OptedOutError) as caught:
        await _sender(fake).send(_text())
    assert isinstance(caught.value, PermanentSendError)
    assert "21610" in str(caught.value)


async def test_other_client_errors_are_permanent(fake: FakeTwilio) -> None:
    fake.fail_next(400, code=21211)
    with pytest.raises(PermanentSendError):
        await _sender(fake).send(_text())


async def test_unreachable_api_is_transient() -> None:
    with running_fake_twilio() as gone:
        url = gone.url
    sender = build_sender(sms_settings(url, sms={"send_timeout_seconds": 2.0}))
    assert sender is not None
    with pytest.raises(TransientSendError):
        await sender.send(_text())


def test_enabled_without_secrets_fails_at_start_naming_the_key() -> None:
    from bot.settings import SettingsError

    settings = sms_settings("http://127.0.0.1:9", twilio_auth_token=None)
    with pytest.raises(SettingsError, match="DOORSTEP_TWILIO_AUTH_TOKEN"):
        build_sender(settings)


# ---- through the outbox and the follow-up, on real databases ---------------------------


async def test_outbox_retries_429_then_sends_once(engine: sa.Engine, fake: FakeTwilio) -> None:
    clock = FakeClock(NOW)
    settings = sms_settings(fake.url)
    app = bootstrap(
        settings,
        engine=engine,
        classifier=KeywordClassifier(),
        now=clock,
        senders=[_sender(fake)],
        decoders={},
        run_migrations=False,
    )
    with UnitOfWork(engine, app.now) as uow:
        uow.enqueue(_text("Your repair is booked", key="once"))
        uow.commit()
    fake.fail_next(429)
    assert await app.outbox.run_once() == 1
    assert fake.messages == []
    clock.advance(minutes=5)
    assert await app.outbox.run_once() == 1
    assert len(fake.messages) == 1
    clock.advance(minutes=5)
    assert await app.outbox.run_once() == 0
    with engine.connect() as conn:
        row = conn.execute(sa.select(t.outbox)).one()
    assert (row.status, row.provider_id, row.attempts) == ("sent", fake.messages[0].sid, 2)


async def test_21610_holds_the_number_and_falls_back_to_email(
    engine: sa.Engine, fake: FakeTwilio
) -> None:
    clock = FakeClock(NOW)
    settings = sms_settings(fake.url)
    email = CollectingSender(Channel.EMAIL)
    app = bootstrap(
        settings,
        engine=engine,
        classifier=KeywordClassifier(),
        now=clock,
        senders=[_sender(fake), email],
        decoders={},
        run_migrations=False,
    )
    with UnitOfWork(engine, app.now) as uow:
        contact = uow.contact_for("phone", RESIDENT, "Jane Smith")
        uow.conn.execute(
            t.contact_identities.insert().values(
                contact_id=contact, kind="email", value="jane@example.net"
            )
        )
        uow.enqueue(_text("Your repair is booked for Tuesday", key="appt"))
        uow.commit()
    fake.fail_next(400, code=21610)
    await app.outbox.run_once()
    assert follow_up_failures(engine, settings, clock()) == 1
    assert follow_up_failures(engine, settings, clock()) == 0  # each failure once
    await app.outbox.run_once()
    (mail,) = email.sent
    assert mail.recipient == "jane@example.net"
    assert mail.body == "Your repair is booked for Tuesday"
    with engine.connect() as conn:
        hold = conn.execute(sa.select(t.address_holds)).one()
        action = conn.execute(sa.select(sms_failures.c.action)).scalar_one()
    assert (hold.channel, hold.address, hold.until) == ("sms", RESIDENT, None)
    assert action == "held+emailed"


async def test_undelivered_status_without_email_is_recorded_only(
    engine: sa.Engine, fake: FakeTwilio
) -> None:
    settings = sms_settings(fake.url)
    app = bootstrap(
        settings,
        engine=engine,
        classifier=KeywordClassifier(),
        now=FakeClock(NOW),
        senders=[_sender(fake)],
        decoders={},
        run_migrations=False,
    )
    with UnitOfWork(engine, app.now) as uow:
        uow.enqueue(_text(key="x"))
        uow.commit()
    await app.outbox.run_once()
    from channels.sms.webhook import record_status

    assert record_status(engine, fake.messages[0].sid, "undelivered", "30003")
    assert follow_up_failures(engine, settings, NOW) == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sms_failures.c.action)).scalar_one() == "no_email"
        assert conn.execute(sa.select(t.address_holds)).all() == []
