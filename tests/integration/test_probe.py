"""The mystery shopper on real SQLite and PostgreSQL (MONITOR): a marked probe goes through
the whole pipeline and is acknowledged, then is set apart (closed, every clock withdrawn,
named in `probe_cases`): never in a queue, never in the figures. A forged or replayed
marker is a resident's message like any other. The runner times and checks the
acknowledgement and records each run; the health of each channel follows from the runs."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.domain.model import Channel
from bot.probe.health import channel_health
from bot.probe.marker import HEADER, sign
from bot.probe.runner import ProbeRunner
from bot.probe.shoppers import Sent
from bot.service.performance import compute
from bot.settings import Settings
from bot.storage import tables as t
from bot.storage import tables_probe as tp
from bot.web.dashboard.queries import Scope, queue_page
from channels.base import Decoder
from channels.email.adapter import decoder as email_decoder
from tests.fakes import FakeClock
from tests.integration.helpers import json_decoder, make_app

pytestmark = pytest.mark.integration

SECRET = "integration-probe-secret"
MONDAY_10 = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)


def settings(**probe: object) -> Settings:
    return Settings(
        probe={"secret": SECRET, "sms": {"from_number": "+447700900999"}, **probe},
        email={"decode_timeout_seconds": 0},
    )


def _text(app: object, key: str, body: str, channel: Channel = Channel.SMS) -> None:
    payload = {
        "channel": channel.value,
        "id": key,
        "from": "+447700900999",
        "at": MONDAY_10.isoformat(),
        "body": body,
    }
    app.pipeline.store_raw(channel, "test", key, json.dumps(payload).encode())  # type: ignore[attr-defined]


def _rows(engine: sa.Engine, table: sa.Table) -> list[sa.Row[tuple[object, ...]]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table)).all())


def _queue(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        page = queue_page(conn, Scope(view="all"), now=MONDAY_10, limit=50)
    return [row.reference for row in page.rows]


def _with_real_email(settings: Settings) -> dict[Channel, Decoder]:
    """The tests' JSON decoders, but real MIME for email (the probe's header is read there):
    given to bootstrap, which hands them to the reading worker it starts."""
    decoders: dict[Channel, Decoder] = {c: json_decoder for c in Channel}
    decoders[Channel.EMAIL] = email_decoder(settings)
    return decoders


def test_a_probe_is_acknowledged_then_set_apart(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    app, _ = make_app(engine, clock, settings())
    token, marker = sign(SECRET, "sms", MONDAY_10)
    _text(app, "SMprobe1", f"Hello, how can I pay my rent? {token}")
    _text(app, "SMresident1", "My boiler is broken")
    outcomes = app.pipeline.process_pending()
    assert [o.status for o in outcomes] == ["processed", "processed"]
    probe_case, resident_case = (o.interaction_id for o in outcomes)
    # Acknowledged like any enquiry: that is what the probe measures.
    acks = [r for r in _rows(engine, t.outbox) if r.interaction_id == probe_case]
    assert [r.kind for r in acks] == ["acknowledgement"]
    # Then set apart: closed, every clock withdrawn, named as a probe.
    (named,) = _rows(engine, tp.probe_cases)
    assert named.interaction_id == probe_case and named.nonce == marker.nonce
    status = {r.id: r.status for r in _rows(engine, t.interactions)}
    assert status == {probe_case: "closed", resident_case: "open"}
    probe_clocks = [r for r in _rows(engine, t.clocks) if r.interaction_id == probe_case]
    assert probe_clocks and all(r.outcome == "withdrawn" for r in probe_clocks)
    # Never in a queue.
    assert _queue(engine) == [outcomes[1].reference]
    # Never in the figures: the resident's enquiry is the only one counted.
    asyncio.run(app.outbox.run_once(limit=10))
    with engine.connect() as conn:
        later = MONDAY_10 + timedelta(days=30)
        figures = compute(conn, MONDAY_10 - timedelta(days=1), later, later)
    assert sum(sum(hours) for hours in figures.volume.values()) == 1
    counted = sum(tally.decided + tally.set_aside for _, _, tally in figures.by_policy)
    resident_clocks = [r for r in _rows(engine, t.clocks) if r.interaction_id == resident_case]
    assert counted == len(resident_clocks)


def test_forged_and_replayed_markers_are_residents(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    app, _ = make_app(engine, clock, settings())
    genuine, _ = sign(SECRET, "sms", MONDAY_10)
    forged, _ = sign("a-guessed-secret", "sms", MONDAY_10)
    old, _ = sign(SECRET, "sms", MONDAY_10 - timedelta(hours=2))
    other_channel, _ = sign(SECRET, "webchat", MONDAY_10)
    _text(app, "SM1", f"Rent question {genuine}")
    _text(app, "SM2", f"Rent question {genuine}")  # the same marker again: a replay
    _text(app, "SM3", f"Rent question {forged}")
    _text(app, "SM4", f"Rent question {old}")
    _text(app, "SM5", f"Rent question {other_channel}")
    _text(app, "SM6", f"Rent question {genuine[:-2]}")
    outcomes = []
    for _ in range(6):  # one at a time: SMS follow-ups would otherwise join one conversation
        outcomes += app.pipeline.process_pending(limit=1)
        with engine.begin() as conn:  # each text a conversation of its own
            conn.execute(t.interactions.update().values(created_at=MONDAY_10 - timedelta(days=2)))
    assert len(_rows(engine, tp.probe_cases)) == 1
    statuses = {r.id: r.status for r in _rows(engine, t.interactions)}
    assert len(statuses) == 6  # each a case of its own
    assert list(statuses.values()).count("closed") == 1  # only the first, genuine probe


def test_an_email_probe_is_marked_in_its_header(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    app, _ = make_app(engine, clock, settings(), decoders=_with_real_email(settings()))
    token, _ = sign(SECRET, "email", MONDAY_10)

    def mail(n: int, extra: str, body: str) -> bytes:
        return (
            f"From: Probe <probe@example.org>\r\nTo: hello@example.org.uk\r\n"
            f"Subject: A question about paying my rent {n}\r\nMessage-ID: <p{n}@example.org>\r\n"
            f"Date: Mon, 21 Dec 2026 10:00:00 +0000\r\n{extra}\r\n{body}\r\n"
        ).encode()

    app.pipeline.store_raw(Channel.EMAIL, "test", "e1", mail(1, f"{HEADER}: {token}\r\n", "Hi"))
    # The token pasted into the text of a mail (a resident who saw one) is not a probe.
    app.pipeline.store_raw(Channel.EMAIL, "test", "e2", mail(2, "", f"Hi {token}"))
    outcomes = app.pipeline.process_pending()
    assert [o.status for o in outcomes] == ["processed", "processed"]
    (named,) = _rows(engine, tp.probe_cases)
    assert named.interaction_id == outcomes[0].interaction_id and named.channel == "email"


class DeliveringShopper:
    """A shopper at the runner's boundary: it hands the probe to the pipeline as the SMS
    webhook would (the e2e test sends through Twilio's API for real)."""

    channel = "sms"

    def __init__(self, app: object, clock: FakeClock) -> None:
        self.app = app
        self.clock = clock

    async def send(self, token: str, now: datetime, wait_seconds: float) -> Sent:
        _text(self.app, f"SM-{token[-8:]}", f"How can I pay my rent? {token}")
        await asyncio.to_thread(self.app.pipeline.process_pending)  # type: ignore[attr-defined]
        self.clock.advance(seconds=3)
        await self.app.outbox.run_once(limit=10)  # type: ignore[attr-defined]
        return Sent(now)


class SilentShopper:
    channel = "sms"

    async def send(self, token: str, now: datetime, wait_seconds: float) -> Sent:
        return Sent(now)  # the number stopped forwarding: nothing reaches Doorstep


def test_the_runner_times_checks_and_records_each_probe(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    app, _ = make_app(engine, clock, settings(wait_seconds=5, slow_seconds=60))
    runner = ProbeRunner(
        app.settings, engine, {"sms": DeliveringShopper(app, clock)}, now=clock, poll_seconds=0
    )
    (result,) = asyncio.run(runner.run())
    assert result.status == "passed", result
    assert result.seconds == pytest.approx(3, abs=0.01)
    assert result.reference is not None and result.reference.startswith("DS-")
    (row,) = _rows(engine, tp.probes)
    assert row.status == "passed" and row.interaction_id is not None
    with engine.connect() as conn:
        (health,) = channel_health(conn, app.settings, clock())
    assert health.state == "ok" and health.warning is None

    # A channel that has gone quiet: no answer, said plainly, and the banner warns.
    async def tick(_: float) -> None:
        clock.advance(seconds=1)

    silent = ProbeRunner(
        app.settings, engine, {"sms": SilentShopper()}, now=clock, poll_seconds=0, sleep=tick
    )
    (result,) = asyncio.run(silent.run())
    assert result.status == "failed"
    assert result.reason == (
        "no acknowledgement within 5 seconds: the message never reached Doorstep"
    )
    with engine.connect() as conn:
        (health,) = channel_health(conn, app.settings, clock())
    assert health.state == "failing" and health.warning is not None
    clock.advance(days=2)
    with engine.connect() as conn:
        (health,) = channel_health(conn, app.settings, clock())
    assert health.state == "silent"
    assert health.warning is not None and "no test message has been answered" in health.warning


def test_an_email_probe_says_what_failed(engine: sa.Engine) -> None:
    from bot.probe.shoppers import EmailShopper
    from tests.support.net import free_port
    from tests.support.smtp_sink import SmtpSink

    clock = FakeClock(MONDAY_10)
    closed = free_port()
    mailbox = {
        "host": "127.0.0.1",
        "port": closed,
        "security": "none",
        "username": "p",
        "password": "x",
    }
    with SmtpSink() as sink:
        for relay_port, expected in (
            (closed, f"could not send: the relay 127.0.0.1:{closed} did not take it: "),
            (sink.port, "could not read the probe's mailbox: the probe mailbox 127.0.0.1: "),
        ):
            settings = Settings(
                probe={"secret": SECRET, "wait_seconds": 5,
                       "email": {"from_address": "probe@probe.example", "mailbox": mailbox}},
                email={"smtp": {"host": "127.0.0.1", "port": relay_port, "timeout": 5}},
            )  # fmt: skip
            runner = ProbeRunner(
                settings, engine, {"email": EmailShopper(settings)}, now=clock, poll_seconds=0
            )
            (result,) = asyncio.run(runner.run())
            assert result.status == "failed"
            assert result.reason is not None and result.reason.startswith(expected), result
        (sent,) = sink.messages  # the second probe reached the relay, marked in its header
        assert str(sent.message[HEADER]).strip().startswith("DSPROBE-email-")
        assert "Auto-Submitted" not in sent.message  # it must look like a resident's mail
