"""Staff told in time (issue 18) on real SQLite and PostgreSQL: an alert by email to the
team's address when a promise enters its last 20 % or is missed, once per clock and state
(across restarts and two servers at once), a digest per team each working morning, and a
notification that did not go shown as not sent, never as done."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.domain.model import Channel, OutboundMessage
from bot.service.alerts import StaffAlerts, needing_attention, recent_notices
from bot.settings import Settings, Team
from bot.storage import tables as t
from bot.storage import tables_probe as tp
from channels.base import CollectingSender, PermanentSendError, SendResult
from tests.fakes import FakeClock
from tests.integration.helpers import deliver, make_app

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)  # London is on UTC in December
TEAMS = [
    Team(id="customer-services", name="Customer Services team", email="cs@example.org.uk"),
    Team(id="repairs", name="Repairs team"),  # no address: its alerts cannot go
]


def _settings(**alerts: object) -> Settings:
    return Settings(teams=TEAMS, routing={"repair": "repairs"}, alerts=alerts)


def _rows(engine: sa.Engine, table: sa.Table) -> list[sa.Row[tuple[object, ...]]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table).order_by(table.c.id)).all())


def _staff_mail(engine: sa.Engine) -> list[sa.Row[tuple[object, ...]]]:
    return [r for r in _rows(engine, t.outbox) if r.kind == "staff_alert"]


def _enquiry(app: object, key: str, body: str) -> None:
    deliver(app, key, subject="A question", body=body, at=MONDAY_10.isoformat())
    app.pipeline.process_pending()  # type: ignore[attr-defined]
    asyncio.run(app.outbox.run_once(limit=20))  # type: ignore[attr-defined]


def _due(engine: sa.Engine, policy: str) -> datetime:
    (row,) = [r for r in _rows(engine, t.clocks) if r.policy == policy]
    return row.due_at  # type: ignore[no-any-return]


def test_each_clock_is_alerted_once_per_state(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    app, _ = make_app(engine, clock, _settings())
    _enquiry(app, "q1", "How do I pay my rent?")  # email-3: three working days
    alerts = StaffAlerts(app.settings, engine, app.clocks, clock)
    assert alerts.send_alerts() == 0  # just received: nothing to tell
    due = _due(engine, "email-3")
    clock.current = due - timedelta(hours=2)  # in the last 20 % of its working time
    assert alerts.send_alerts() == 1
    (mail,) = _staff_mail(engine)
    assert mail.recipient == "cs@example.org.uk" and mail.channel == "email"
    assert "due soon" in mail.subject and "Customer Services team" in mail.subject
    reference = _rows(engine, t.interactions)[0].reference
    assert reference in mail.body and "/staff/interactions/" in mail.body
    assert alerts.send_alerts() == 0  # again: nothing new
    restarted = StaffAlerts(app.settings, engine, app.clocks, clock)  # a restart
    assert restarted.send_alerts() == 0
    clock.current = due + timedelta(minutes=1)
    assert restarted.send_alerts() == 1
    assert [("missed" in m.subject) for m in _staff_mail(engine)] == [False, True]
    assert alerts.send_alerts() == 0 and len(_staff_mail(engine)) == 2


def test_two_servers_at_once_send_each_alert_once(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    app, _ = make_app(engine, clock, _settings())
    for n in range(5):
        _enquiry(app, f"q{n}", f"How do I pay my rent? {n}")
    clock.current = max(r.due_at for r in _rows(engine, t.clocks)) + timedelta(minutes=1)
    servers = [StaffAlerts(app.settings, engine, app.clocks, clock) for _ in range(2)]
    start = threading.Barrier(2)
    claimed: list[int] = []
    errors: list[BaseException] = []

    def run(server: StaffAlerts) -> None:
        start.wait()
        try:
            claimed.append(server.send_alerts())
        except BaseException as exc:  # a lost race must not be an error either
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    open_clocks = [r for r in _rows(engine, t.clocks) if r.is_open]
    assert sum(claimed) == len(open_clocks) == len(_rows(engine, tp.staff_alerts))
    # One email for the team, whichever server claimed the alerts.
    assert len(_staff_mail(engine)) == 1


class FailingSender:
    channel = Channel.EMAIL

    def __init__(self) -> None:
        self.inner = CollectingSender(Channel.EMAIL)

    async def send(self, message: OutboundMessage) -> SendResult:
        if message.kind == "staff_alert":
            raise PermanentSendError("550 mailbox unavailable")
        return await self.inner.send(message)


def test_a_notification_that_did_not_go_is_shown_as_not_sent(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    settings = _settings()
    app, _ = make_app(engine, clock, settings)
    _enquiry(app, "q1", "How do I pay my rent?")  # customer services: has an address
    _enquiry(app, "q2", "The kitchen tap is broken, a repair please")  # repairs: none
    clock.current = max(r.due_at for r in _rows(engine, t.clocks)) + timedelta(minutes=1)
    alerts = StaffAlerts(app.settings, engine, app.clocks, clock)
    assert alerts.send_alerts() >= 2
    with engine.connect() as conn:
        notices = recent_notices(conn)
    by_team = {n.team: n for n in notices}
    assert by_team["repairs"].status == "not sent"
    assert "no email address" in (by_team["repairs"].error or "")
    assert by_team["customer-services"].status == "waiting"  # queued, not yet sent

    # The relay refuses it: failed, with the reason, never "sent".
    app.outbox.senders.register(FailingSender())  # type: ignore[attr-defined]
    asyncio.run(app.outbox.run_once(limit=20))
    with engine.connect() as conn:
        notices = recent_notices(conn)
    failed = [n for n in notices if n.team == "customer-services"]
    assert failed and all(n.status == "failed" for n in failed)
    assert "550" in (failed[0].error or "")


def test_a_digest_per_team_each_working_morning(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    app, _ = make_app(engine, clock, _settings(digest_time="13:00"))
    _enquiry(app, "q1", "How do I pay my rent?")
    alerts = StaffAlerts(app.settings, engine, app.clocks, clock)
    thursday = datetime(2026, 12, 24, 12, 59, tzinfo=UTC)
    # email-3 is due at 5pm today: due soon since 12:12 (its last 20 %: 4 h 48 min of 3 days)
    clock.current = thursday
    assert alerts.send_digests() == 0  # before the digest's time
    clock.current = thursday + timedelta(minutes=2)
    assert alerts.send_digests() == 1
    assert alerts.send_digests() == 0  # once a day, whoever asks
    assert StaffAlerts(app.settings, engine, app.clocks, clock).send_digests() == 0
    digests = [r for r in _staff_mail(engine) if r.idempotency_key.startswith("staff-digest")]
    assert len(digests) == 1 and "1 due soon" in digests[0].subject
    # Christmas Day and the weekend are not working days: no digest.
    for day in (25, 26, 27):
        clock.current = datetime(2026, 12, day, 9, 0, tzinfo=UTC)
        assert alerts.send_digests() == 0


def test_waiting_on_the_resident_and_closed_cases_are_not_chased(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    app, _ = make_app(engine, clock, _settings())
    _enquiry(app, "q1", "How do I pay my rent?")
    interaction = _rows(engine, t.interactions)[0].id
    with engine.begin() as conn:
        app.clocks.pause(conn, interaction, MONDAY_10 + timedelta(minutes=5))
    clock.current = MONDAY_10 + timedelta(days=30)
    with engine.connect() as conn:
        assert needing_attention(conn, app.clocks, clock(), 0.2) == []
