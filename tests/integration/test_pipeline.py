"""The service layer on real SQLite and PostgreSQL: store first, one acknowledgement per
enquiry (ACK-2), loop protection, poison messages, clocks (EMAIL-NOW, COMPLAINT, ASB)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.domain.model import Channel
from bot.settings import Officer, Settings, Team
from bot.storage import tables as t
from tests.fakes import FakeClock
from tests.integration.helpers import deliver, make_app

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)


def _rows(engine: sa.Engine, table: sa.Table) -> list[sa.Row[tuple[object, ...]]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table).order_by(table.c.id)).all())


def _send_all(app: object) -> None:
    asyncio.run(app.outbox.run_once(limit=100))  # type: ignore[attr-defined]


def test_new_email_gets_one_acknowledgement_with_reference_and_deadline(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    app, sender = make_app(engine, clock)
    deliver(app, "m1", subject="Boiler broken", body="My boiler is broken", name="Jane Smith")
    deliver(app, "m1", subject="Boiler broken", body="My boiler is broken")  # redelivered
    outcomes = app.pipeline.process_pending()
    assert [o.status for o in outcomes] == ["processed"]
    _send_all(app)
    assert len(sender.sent) == 1
    ack = sender.sent[0]
    ref = outcomes[0].reference
    assert ref is not None and re.fullmatch(r"DS-[0-9A-Z]{4}-[0-9A-Z]{4}", ref)
    assert ref in ack.body and ref in (ack.subject or "")
    assert "Dear Jane" in ack.body
    # email-3 from Monday 10:00: day 0 Monday, +3 = Thursday 24 December, 5pm.
    assert "by 5pm on Thursday 24 December" in ack.body
    assert ack.in_reply_to == "<m1@example.net>"
    clocks = {r.policy: r for r in _rows(engine, t.clocks)}
    assert clocks["email-ack-now"].outcome == "met"  # EMAIL-NOW stopped by the send
    assert clocks["email-3"].is_open


def test_reply_in_thread_joins_and_gets_no_second_acknowledgement(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    app, sender = make_app(engine, clock)
    deliver(app, "a", subject="Leak under sink", body="There is a leak")
    (first,) = app.pipeline.process_pending()
    _send_all(app)
    # By the reference in the subject, and by In-Reply-To our acknowledgement's Message-ID.
    deliver(app, "b", subject=f"Re: Leak [{first.reference}]", body="Any news?")
    ack_id = sender.sent[0].meta["message_id"]
    deliver(app, "c", subject="Re: Leak", body="photos attached", refs=[ack_id])
    outcomes = app.pipeline.process_pending()
    assert [o.status for o in outcomes] == ["joined", "joined"]
    assert {o.interaction_id for o in outcomes} == {first.interaction_id}
    _send_all(app)
    assert len(sender.sent) == 1


@pytest.mark.parametrize("reason", ["auto-submitted", "list-id", "mailer-daemon", "report"])
def test_loop_protection_suppresses_and_records_reason(engine: sa.Engine, reason: str) -> None:
    app, sender = make_app(engine, FakeClock(MONDAY_10))
    deliver(app, "x", body="I am away", no_reply=reason, failed=["gone@example.net"])
    (outcome,) = app.pipeline.process_pending()
    _send_all(app)
    assert outcome.status == "suppressed"
    assert sender.sent == []
    assert [r.reason for r in _rows(engine, t.suppressions)] == [reason]
    holds = _rows(engine, t.address_holds)
    assert [h.address for h in holds] == ["gone@example.net"]


def test_bounced_address_gets_no_automatic_mail(engine: sa.Engine) -> None:
    app, sender = make_app(engine, FakeClock(MONDAY_10))
    deliver(
        app,
        "bounce",
        **{"from": "mailer-daemon@example.net"},
        no_reply="report",
        failed=["resident@example.net"],
    )
    deliver(app, "later", body="my window is broken")
    outcomes = app.pipeline.process_pending()
    _send_all(app)
    assert outcomes[1].status == "processed" and sender.sent == []
    assert "address on hold" in (_rows(engine, t.suppressions)[-1].reason or "")


def test_poison_message_is_quarantined_and_does_not_block(engine: sa.Engine) -> None:
    app, _sender = make_app(engine, FakeClock(MONDAY_10))
    app.pipeline.store_raw(Channel.EMAIL, "t", "bad", b"\xff\xfe not json")
    deliver(app, "crash", explode=True)
    deliver(app, "good", body="boiler broken")
    outcomes = app.pipeline.process_pending()
    assert [o.status for o in outcomes] == ["quarantined", "quarantined", "processed"]
    rows = {r.source_key: r for r in _rows(engine, t.inbound_messages)}
    assert "not JSON" in (rows["bad"].reason or "")
    assert "RuntimeError" in (rows["crash"].reason or "")  # classified, never the text
    assert rows["bad"].raw == b"\xff\xfe not json"  # stored, nothing lost
    assert app.pipeline.process_pending() == []  # quarantined ones are not retried in a loop


def test_per_sender_cap(engine: sa.Engine) -> None:
    settings = Settings()
    settings.email.caps.per_sender = 3
    app, sender = make_app(engine, FakeClock(MONDAY_10), settings)
    for i in range(5):
        deliver(app, f"n{i}", subject=f"Question {i}", body="hello")
    app.pipeline.process_pending()
    _send_all(app)
    assert len(sender.sent) == 3
    assert sum("per-sender cap" in (r.reason or "") for r in _rows(engine, t.suppressions)) == 2


def test_complaint_sends_procedure_and_starts_code_clocks(engine: sa.Engine) -> None:
    app, sender = make_app(engine, FakeClock(MONDAY_10))
    deliver(app, "c1", subject="Disgusted", body="I want to complain about how I was treated")
    (outcome,) = app.pipeline.process_pending()
    _send_all(app)
    kinds = sorted(m.kind for m in sender.sent)
    assert kinds == ["acknowledgement", "procedure"]
    procedure = next(m for m in sender.sent if m.kind == "procedure")
    assert "Housing Ombudsman" in procedure.body and outcome.reference in procedure.body
    clocks = {r.policy: r for r in _rows(engine, t.clocks)}
    assert clocks["complaint-procedure-1"].outcome == "met"
    assert clocks["complaint-stage1-ack"].is_open
    inter = _rows(engine, t.interactions)[0]
    assert inter.team == "complaints" or inter.team == "customer-services"


def test_asb_urgent_clock_and_signpost(engine: sa.Engine) -> None:
    app, sender = make_app(engine, FakeClock(MONDAY_10))
    deliver(app, "asb", body="my neighbour made a threat to me")
    app.pipeline.process_pending()
    _send_all(app)
    assert "call 999" in sender.sent[0].body
    assert {r.policy for r in _rows(engine, t.clocks)} == {"email-ack-now", "asb-urgent-1"}


def test_gas_gets_emergency_signposts_and_awaab_clock(engine: sa.Engine) -> None:
    app, sender = make_app(engine, FakeClock(MONDAY_10))
    deliver(app, "gas", body="I can smell gas in the kitchen")
    app.pipeline.process_pending()
    _send_all(app)
    body = sender.sent[0].body
    assert "0800 111 999" in body and "24-hour" in body
    assert "awaab-emergency" in {r.policy for r in _rows(engine, t.clocks)}


def test_team_inbox_receipt_and_officer_out_of_office(engine: sa.Engine) -> None:
    settings = Settings(
        teams=[
            Team(id="customer-services", name="Customer Services", email="hello@landlord.example"),
            Team(id="repairs", name="Repairs team", email="repairs@landlord.example"),
            Team(id="income", name="Income team", email="income@landlord.example"),
        ],
        officers=[
            Officer(
                name="Sam Patel",
                email="sam.patel@landlord.example",
                team="income",
                on_leave_until=date(2027, 1, 4),
                cover="repairs",
            )
        ],
    )
    app, sender = make_app(engine, FakeClock(MONDAY_10), settings)
    deliver(app, "team", to="repairs@landlord.example", body="question about my rent")
    deliver(app, "ooo", to="sam.patel@landlord.example", body="question about my rent")
    app.pipeline.process_pending()
    _send_all(app)
    team_ack, ooo = sender.sent
    assert team_ack.sender == "repairs@landlord.example"  # TEAM-RECEIPT from the team address
    assert ooo.kind == "ooo" and "Sam Patel is away until Monday 4 January 2027" in ooo.body
    inter = _rows(engine, t.interactions)
    assert inter[1].team == "repairs"  # routed to the cover


def test_leave_edited_in_the_dashboard_is_used_by_the_next_mail(engine: sa.Engine) -> None:
    """OOO: the officers table is the live list; an edit takes effect on the next message."""
    from actions.officers import set_leave

    settings = Settings(
        teams=[Team(id="income", name="Income team"), Team(id="repairs", name="Repairs team")],
        officers=[Officer(name="Sam Patel", email="sam.patel@landlord.example", team="income")],
    )
    app, sender = make_app(engine, FakeClock(MONDAY_10), settings)
    deliver(app, "before", to="sam.patel@landlord.example", body="question about my rent")
    app.pipeline.process_pending()
    with engine.begin() as conn:
        set_leave(
            conn,
            "sam.patel@landlord.example",
            until=date(2027, 1, 4),
            cover="repairs",
            today=MONDAY_10.date(),
        )
    deliver(app, "after", to="sam.patel@landlord.example", body="another rent question")
    app.pipeline.process_pending()
    _send_all(app)
    first, second = sender.sent
    assert first.kind == "acknowledgement"
    assert second.kind == "ooo" and "away until Monday 4 January 2027" in second.body
    assert [row.team for row in _rows(engine, t.interactions)] == ["income", "repairs"]


def test_outbox_retries_then_sends_once(engine: sa.Engine) -> None:
    from channels.base import SendResult, TransientSendError

    class Flaky:
        channel = Channel.EMAIL

        def __init__(self) -> None:
            self.calls = 0

        async def send(self, message: object) -> SendResult:
            self.calls += 1
            if self.calls < 3:
                raise TransientSendError("451 try later")
            return SendResult("ok")

    clock = FakeClock(MONDAY_10)
    flaky = Flaky()
    app, _ = make_app(engine, clock)
    app.senders.register(flaky)
    deliver(app, "f", body="boiler broken")
    app.pipeline.process_pending()
    for _ in range(3):
        _send_all(app)
        clock.advance(minutes=10)
    _send_all(app)
    assert flaky.calls == 3
    (row,) = _rows(engine, t.outbox)
    assert row.status == "sent" and row.attempts == 3


def test_per_thread_cap_stops_a_conversation_loop(engine: sa.Engine) -> None:
    """A turn handler that answers every turn is cut off after the per-thread cap."""
    from bot.domain.model import OutboundMessage
    from bot.service.pipeline import Turn

    def echo(turn: Turn) -> bool:
        turn.uow.enqueue(
            OutboundMessage(
                channel=turn.message.channel,
                recipient=turn.message.sender,
                body="echo",
                idempotency_key=f"echo:{turn.message.external_id}",
                interaction_id=turn.outcome.interaction_id,
            )
        )
        return True

    settings = Settings()
    settings.email.caps.per_thread = 4
    app, _sender = make_app(
        engine, FakeClock(MONDAY_10), settings, turn_handlers={Channel.SMS: echo}
    )
    deliver(app, "s0", channel="sms", **{"from": "+447700900123"}, body="hello")
    (first,) = app.pipeline.process_pending()
    for i in range(1, 8):
        deliver(
            app,
            f"s{i}",
            channel="sms",
            **{"from": "+447700900123"},
            body=f"{first.reference} again",
        )
    app.pipeline.process_pending()
    with engine.connect() as conn:
        sent = conn.execute(sa.select(sa.func.count()).select_from(t.outbox)).scalar_one()
    assert sent == 4
    assert any("per-thread cap" in (r.reason or "") for r in _rows(engine, t.suppressions))


def test_a_bounce_after_queueing_stops_the_queued_acknowledgement(engine: sa.Engine) -> None:
    """The hold is checked again at send time: an acknowledgement queued before the bounce
    arrived is recorded as suppressed, not sent."""
    from bot.storage.repository import UnitOfWork

    clock = FakeClock(MONDAY_10)
    app, sender = make_app(engine, clock)
    deliver(app, "m1", body="my sink is blocked")
    app.pipeline.process_pending()
    with UnitOfWork(engine, clock) as uow:
        uow.hold_address("email", "Resident@Example.net", "bounced: 550 no such user", None)
        uow.commit()
    _send_all(app)
    assert sender.sent == []
    (row,) = _rows(engine, t.outbox)
    assert row.status == "suppressed" and "bounced" in row.last_error


def test_old_mail_in_a_newly_connected_mailbox_is_stored_but_not_answered(
    engine: sa.Engine,
) -> None:
    """A mailbox's backlog: a resident who wrote weeks ago is not thanked today."""
    clock = FakeClock(MONDAY_10)
    app, sender = make_app(engine, clock)
    weeks_ago = (MONDAY_10 - timedelta(days=30)).isoformat()
    deliver(app, "old", body="my sink is blocked", at=weeks_ago)
    deliver(app, "new", body="my tap drips", **{"from": "other@example.net"})
    (old, new) = app.pipeline.process_pending()
    _send_all(app)
    assert old.status == "processed" and old.interaction_id is not None
    assert "no automatic reply to old mail" in str(old.reason)
    assert [m.recipient for m in sender.sent] == ["other@example.net"]
    assert new.acknowledged
