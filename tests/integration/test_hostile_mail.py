"""Issue 14 on real SQLite and PostgreSQL: a resident's mail is never lost to our own schema.

Real raw mail through the real email decoder: a NUL byte, a 2,000-character subject and a
CR/LF hidden in an encoded subject are each stored, acknowledged once, and leave the case's
later mail composable. Transient database errors are tried again, not quarantined; what is
quarantined carries a classified reason with no content and no SQL values; an admin sees it
in the dashboard and sends it through again or takes it over by hand.
"""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import sqlalchemy as sa

from bot.bootstrap import App, bootstrap
from bot.domain.model import Channel, OutboundMessage
from bot.service import quarantine
from bot.settings import Settings
from bot.storage import tables as t
from channels.base import CollectingSender
from channels.email.adapter import decoder as email_decoder
from channels.email.compose import build_email
from tests.fakes import FakeClock, KeywordClassifier
from tests.integration.test_dashboard import Env, env  # noqa: F401  (the dashboard fixture)

pytestmark = pytest.mark.integration

# The email decoder takes "now" from the real clock (a Date in the future is capped to it),
# so the application's clock is the real one too, give or take a test's run.
NOW = datetime.now(UTC).replace(microsecond=0)
SECRET_WORDS = "my neighbour Tom at 12 Acacia Road"


def _app(engine: sa.Engine) -> tuple[App, CollectingSender]:
    settings = Settings()
    sender = CollectingSender(Channel.EMAIL)
    app = bootstrap(
        settings,
        engine=engine,
        classifier=KeywordClassifier(),
        senders=[sender, CollectingSender(Channel.SMS), CollectingSender(Channel.WEBCHAT)],
        decoders={Channel.EMAIL: email_decoder(settings)},
        now=FakeClock(NOW),
        run_migrations=False,
        turn_handlers={},
    )
    return app, sender


def _mail(key: str, subject: bytes, body: bytes) -> bytes:
    # One resident per mail: the per-sender caps are not what these tests are about.
    return (
        b"From: Jo Bloggs <jo." + key.encode() + b"@example.org>\r\n"
        b"To: repairs@landlord.example\r\n"
        b"Subject: " + subject + b"\r\n"
        b"Date: " + format_datetime(NOW - timedelta(hours=1)).encode() + b"\r\n"
        b"Message-ID: <" + key.encode() + b"@example.org>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n" + body
    )


def _store(app: App, key: str, raw: bytes) -> None:
    app.pipeline.store_raw(Channel.EMAIL, "imap:test", key, raw)


def _send_all(app: App) -> None:
    asyncio.run(app.outbox.run_once(limit=100))


def _inbound(engine: sa.Engine) -> dict[str, sa.Row[tuple[object, ...]]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.inbound_messages)).all()
    return {str(r.source_key): r for r in rows}


def _compose(message: OutboundMessage) -> None:
    build_email(
        message,
        from_address="repairs@landlord.example",
        from_name="Repairs",
        domain_for_ids="landlord.example",
    )


def test_nul_bytes_long_and_broken_subjects_are_each_acknowledged(engine: sa.Engine) -> None:
    app, sender = _app(engine)
    mails = {
        "nul-body": _mail("nul-body", b"Boiler", b"My boiler\x00 is broken\x00."),
        "nul-subject": _mail("nul-subject", b"=?utf-8?q?Boiler=00_broken?=", b"No heat."),
        "long-subject": _mail("long-subject", b"Leak " * 400, b"Water everywhere."),
        "crlf-subject": _mail(
            "crlf-subject",
            b"=?utf-8?q?Boiler=0D=0ABcc:_attacker@evil.example?=",
            b"Radiators cold.",
        ),
        "bad-bytes": _mail("bad-bytes", b"Damp \xff\xfe", b"Mould \xed\xa0\x80 in the bathroom."),
    }
    for key, raw in mails.items():
        _store(app, key, raw)
    outcomes = app.pipeline.process_pending()
    assert [o.status for o in outcomes] == ["processed"] * len(mails), outcomes
    _send_all(app)
    assert len(sender.sent) == len(mails)  # exactly one acknowledgement each
    for ack in sender.sent:
        subject = ack.subject or ""
        assert len(subject) <= 1000
        assert re.search(r"\[DS-[0-9A-Z]{4}-[0-9A-Z]{4,6}\]$", subject), subject  # it survives
        assert "\r" not in subject and "\n" not in subject and "\x00" not in subject
        _compose(ack)  # and it can become a real email
    rows = _inbound(engine)
    assert rows["nul-body"].raw == mails["nul-body"]  # the raw bytes are kept as they came
    assert "\x00" not in (rows["nul-body"].body or "")
    assert "boiler is broken" in (rows["nul-body"].body or "")
    with engine.connect() as conn:
        subjects = conn.execute(sa.select(t.interactions.c.subject)).scalars().all()
    assert all(s is None or ("\n" not in s and "\r" not in s) for s in subjects)


def test_a_case_whose_stored_subject_has_a_line_break_can_still_be_written_to(
    engine: sa.Engine,
) -> None:
    # A case stored by an earlier version with CR/LF in its subject: later staff mail on it
    # (subject taken from the case) still composes, on one line, with no added header.
    message = OutboundMessage(
        channel=Channel.EMAIL,
        recipient="jo@example.org",
        body="We have booked your repair.",
        idempotency_key="staff-1",
        subject="Re: Boiler\r\nBcc: attacker@evil.example [DS-2026-000001]",
        in_reply_to="m1@example.org",
    )
    mail = build_email(
        message,
        from_address="repairs@landlord.example",
        from_name=None,
        domain_for_ids="landlord.example",
    )
    assert "Bcc" not in mail
    assert "\n" not in str(mail["Subject"])


def test_transient_database_errors_are_tried_again_not_quarantined(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, sender = _app(engine)
    _store(app, "m1", _mail("m1", b"Boiler", b"Broken."))
    real_apply = app.pipeline._apply
    failures = iter([True, True])

    def flaky(uow, item, prepared):  # type: ignore[no-untyped-def]
        if next(failures, False):
            raise sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return real_apply(uow, item, prepared)

    monkeypatch.setattr(app.pipeline, "_apply", flaky)
    monkeypatch.setattr(quarantine, "pause_before_retry", lambda attempts: None)
    assert [o.status for o in app.pipeline.process_pending()] == ["retry"]
    assert [o.status for o in app.pipeline.process_pending()] == ["retry"]
    assert [o.status for o in app.pipeline.process_pending()] == ["processed"]
    _send_all(app)
    assert len(sender.sent) == 1
    assert _inbound(engine)["m1"].attempts == 2


def test_a_database_that_stays_away_quarantines_after_the_tries(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _sender = _app(engine)
    _store(app, "m1", _mail("m1", b"Boiler", b"Broken."))

    def down(uow, item, prepared):  # type: ignore[no-untyped-def]
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("could not connect"))

    monkeypatch.setattr(app.pipeline, "_apply", down)
    monkeypatch.setattr(quarantine, "pause_before_retry", lambda attempts: None)
    statuses = [
        app.pipeline.process_pending()[0].status for _ in range(quarantine.TRANSIENT_ATTEMPTS)
    ]
    assert statuses == ["retry"] * (quarantine.TRANSIENT_ATTEMPTS - 1) + ["quarantined"]
    assert _inbound(engine)["m1"].reason == "database unavailable (Exception)"


def test_a_refused_value_is_quarantined_with_a_reason_free_of_content(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Without the fitting (as before), PostgreSQL refuses the NUL; SQLite stores it. Either
    # way nothing of the message reaches the reason or the log.
    import bot.service.reading as reading_module  # fitting happens as messages are read

    monkeypatch.setattr(reading_module, "fit_inbound", lambda message: message)
    app, _sender = _app(engine)
    body = f"Please help, {SECRET_WORDS}\x00".encode()
    _store(app, "m1", _mail("m1", b"Help", body))
    with caplog.at_level(logging.DEBUG):
        outcome = app.pipeline.process_pending()[0]
    row = _inbound(engine)["m1"]
    if engine.dialect.name == "postgresql":
        assert outcome.status == "quarantined"
        assert (row.reason or "").startswith("database refused a value")
    for text in (row.reason or "", caplog.text):
        assert "Acacia" not in text and "neighbour" not in text


def test_quarantine_reasons_are_classified() -> None:
    from channels.email.parse import EmailParseError

    assert (
        quarantine.classify(EmailParseError("empty message")).reason == "unreadable: empty message"
    )
    err = sa.exc.DataError("INSERT ...", {"body": SECRET_WORDS}, ValueError(SECRET_WORDS))
    failure = quarantine.classify(err)
    assert failure.reason == "database refused a value (ValueError)" and not failure.transient
    assert (
        quarantine.classify(RuntimeError(SECRET_WORDS)).reason == "processing error (RuntimeError)"
    )
    assert quarantine.shown_reason(f"ValueError: {SECRET_WORDS}") == "unclassified"


def test_the_engine_hides_statement_values(engine: sa.Engine) -> None:
    from bot.storage.db import create_engine

    made = create_engine("sqlite://")
    try:
        with made.connect() as conn, pytest.raises(sa.exc.DBAPIError) as caught:
            conn.execute(sa.text("SELECT * FROM nowhere WHERE x = :x"), {"x": SECRET_WORDS})
        assert SECRET_WORDS not in str(caught.value)
    finally:
        made.dispose()


async def test_admins_see_the_waiting_room_and_retry_or_take_over(env: Env) -> None:  # noqa: F811
    app = env.app
    app.pipeline.store_raw(Channel.EMAIL, "t", "bad", f"not json {SECRET_WORDS}".encode())
    app.pipeline.store_raw(Channel.EMAIL, "t", "bad2", b"\xff still not json")
    outcomes = app.pipeline.process_pending()
    assert [o.status for o in outcomes] == ["quarantined", "quarantined"]
    ids = [o.inbound_id for o in outcomes]

    # Agents do not see it; admins do, with the reason and without the content.
    await env.login("rita@landlord.example")
    assert await env.status("/staff/quarantine") == 403
    await env.login("admin@landlord.example")
    page = await env.html("/staff/quarantine")
    assert "unreadable: not JSON" in page
    assert "Acacia" not in page
    assert 'href="/staff/quarantine"' in page

    # Try again: back to intake (and quarantined again, since it is still not JSON).
    done = await env.post(f"/staff/quarantine/{ids[0]}/retry")
    assert "being handled again" in done.text
    assert _inbound(env.engine)["bad"].status == "received"
    assert [o.status for o in app.pipeline.process_pending()] == ["quarantined"]

    # Handle by hand: out of the waiting room, raw kept, who did it recorded.
    done = await env.post(f"/staff/quarantine/{ids[1]}/by-hand")
    assert "handled by hand" in done.text
    row = _inbound(env.engine)["bad2"]
    assert row.status == "by_hand" and row.raw == b"\xff still not json"
    assert "admin@landlord.example" in (row.reason or "")
    assert f"/staff/quarantine/{ids[1]}/" not in await env.html("/staff/quarantine")

    # A forged form is refused.
    refused = await env.client.post(
        f"/staff/quarantine/{ids[0]}/by-hand", data={"csrf": "forged"}, follow_redirects=False
    )
    assert refused.status_code == 403


def test_forged_senders_are_filed_as_parsed_and_guessed_ones_get_no_reply(
    engine: sa.Engine,
) -> None:
    # Issue 13: the encoded-name forgery is answered to the real address, never the victim;
    # an unparseable From is stored and shown, gets no reply, and the reason is recorded.
    app, sender = _app(engine)
    forged = {
        "encoded": b"=?utf-8?q?victim@resident.example?= <attacker@evil.example>",
        "crlf": b"=?utf-8?q?Jo=0D=0ABcc:_attacker2@evil.example?= <attacker3@evil.example>",
        "guessed": b"victim@resident.example <attacker4@evil.example>",
    }
    for key, from_value in forged.items():
        raw = _mail(key, b"Boiler", b"Broken.").replace(
            b"From: Jo Bloggs <jo." + key.encode() + b"@example.org>", b"From: " + from_value
        )
        _store(app, key, raw)
    outcomes = {o.inbound_id: o for o in app.pipeline.process_pending()}
    _send_all(app)
    recipients = sorted(ack.recipient for ack in sender.sent)
    assert "victim@resident.example" not in recipients
    assert not any("attacker2" in r for r in recipients)
    assert "attacker@evil.example" in recipients
    rows = _inbound(engine)
    assert rows["encoded"].sender == "attacker@evil.example"
    assert rows["guessed"].sender in ("", None)
    assert outcomes[rows["guessed"].id].status == "suppressed"
    with engine.connect() as conn:
        reasons = (
            conn.execute(
                sa.select(t.suppressions.c.reason).where(
                    t.suppressions.c.inbound_id == rows["guessed"].id
                )
            )
            .scalars()
            .all()
        )
    assert reasons == ["unparseable-sender"]
