"""Every clock change goes through the Interaction aggregate and is on the case's record,
on real SQLite and PostgreSQL: a new enquiry's promises (`clocks_started`, counted from when
the resident wrote), the acknowledgement sent keeping EMAIL-NOW (`clocks_kept`, from the
outbox's own transaction), the resident's answer resuming paused clocks (`clocks_resumed`),
and a case linked into the resident's own ending its clocks superseded, not met."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot.bootstrap import App
from bot.service.joining import link_mention
from bot.storage import tables as t
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork
from sla.clock import MET, SUPERSEDED
from tests.fakes import FakeClock
from tests.integration.helpers import deliver, make_app

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)


def _events(engine: sa.Engine, interaction_id: int | None) -> list[tuple[str, dict[str, Any]]]:
    e = t.events.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(e.kind, e.detail).where(e.interaction_id == interaction_id).order_by(e.id)
        ).all()
    return [(str(r.kind), dict(r.detail or {})) for r in rows]


def _clocks(engine: sa.Engine, interaction_id: int | None) -> dict[str, Any]:
    c = t.clocks.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.clocks).where(c.interaction_id == interaction_id)).all()
    return {r.policy: r for r in rows}


def _send_all(app: App) -> None:
    asyncio.run(app.outbox.run_once(limit=100))


def test_a_new_enquiry_records_its_promises_and_the_send_keeps_email_now(
    engine: sa.Engine,
) -> None:
    clock = FakeClock(MONDAY_10 + timedelta(minutes=5))
    app, sender = make_app(engine, clock)
    deliver(app, "m1", subject="Boiler broken", body="My boiler is broken")  # sent at 10:00
    (outcome,) = app.pipeline.process_pending()
    started = [d for k, d in _events(engine, outcome.interaction_id) if k == "clocks_started"]
    assert len(started) == 1
    assert "email-ack-now" in started[0]["policies"]
    clocks = _clocks(engine, outcome.interaction_id)
    assert set(started[0]["policies"]) == set(clocks)
    # Counted from when the resident wrote, not from when we processed it.
    assert all(
        r.started_at.replace(tzinfo=UTC) == MONDAY_10 if r.started_at.tzinfo is None
        else r.started_at == MONDAY_10
        for r in clocks.values()
    )  # fmt: skip

    _send_all(app)
    assert len(sender.sent) == 1
    clocks = _clocks(engine, outcome.interaction_id)
    assert clocks["email-ack-now"].outcome == MET
    assert clocks["email-ack-now"].outcome_reason == "acknowledgement sent"
    kept = [d for k, d in _events(engine, outcome.interaction_id) if k == "clocks_kept"]
    assert kept == [
        {
            "by": "assistant",
            "policies": ["email-ack-now"],
            "reason": "acknowledgement sent",
            "ended": {"email-ack-now": MET},
        }
    ]
    # A second pass sends nothing and keeps nothing twice.
    _send_all(app)
    assert [k for k, _ in _events(engine, outcome.interaction_id)].count("clocks_kept") == 1


def test_the_residents_answer_resumes_paused_clocks_on_the_record(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    app, _ = make_app(engine, clock)
    deliver(app, "a", subject="Leak under sink", body="There is a leak")
    (first,) = app.pipeline.process_pending()
    assert first.interaction_id is not None
    _send_all(app)
    with UnitOfWork(engine, clock) as uow:
        interactions = SqlInteractions(uow)
        case = interactions.get(first.interaction_id)
        assert case.pause(by="rita@landlord.example", at=clock()) > 0
        interactions.save(case)
        uow.commit()
    clock.advance(hours=2)
    deliver(
        app,
        "b",
        subject=f"Re: Leak [{first.reference}]",
        body="Here is the photo you asked for",
        at=clock().isoformat(),
    )
    (joined,) = app.pipeline.process_pending()
    assert joined.status == "joined"
    resumed = [d for k, d in _events(engine, first.interaction_id) if k == "clocks_resumed"]
    assert len(resumed) == 1 and resumed[0]["by"] == "resident"
    assert all(r.paused_at is None for r in _clocks(engine, first.interaction_id).values())


def test_a_case_linked_into_the_residents_own_ends_its_clocks_superseded(
    engine: sa.Engine,
) -> None:
    clock = FakeClock(MONDAY_10)
    app, _ = make_app(engine, clock)
    deliver(app, "a", subject="Leak under sink", body="There is a leak")
    deliver(app, "b", subject="Leak", body="Leak again", **{"from": "work@example.org"})
    own, other = app.pipeline.process_pending()
    assert own.reference and other.reference
    with UnitOfWork(engine, clock) as uow:
        link_mention(
            uow,
            app.clocks,
            mentioning=other.reference,
            into=own.reference,
            by="rita@landlord.example",
            trust_sender=False,
            now=clock(),
        )
        uow.commit()
    ended = _clocks(engine, other.interaction_id)
    assert ended and all(r.outcome == SUPERSEDED for r in ended.values())
    assert all(r.outcome_reason and own.reference in r.outcome_reason for r in ended.values())
    closed = [d for k, d in _events(engine, other.interaction_id) if k == "closed"]
    assert len(closed) == 1 and closed[0]["outcome"] == "duplicate"
    assert set(closed[0]["settled"].values()) == {SUPERSEDED}
    assert all(r.is_open for r in _clocks(engine, own.interaction_id).values() if not r.outcome)


def test_promises_saved_together_are_each_changed_by_their_own_id(engine: sa.Engine) -> None:
    """Several promises are inserted in one round trip; each must get its own row's id,
    in order, or a later change would stop the wrong clock."""
    clock = FakeClock(MONDAY_10)
    app, _ = make_app(engine, clock)
    deliver(app, "a", subject="Leak under sink", body="There is a leak")
    (first,) = app.pipeline.process_pending()
    assert first.interaction_id is not None
    policies = ("handoff-3", "ack-2", "after-job-2")  # none of them in the enquiry's plan
    with UnitOfWork(engine, clock) as uow:
        interactions = SqlInteractions(uow)
        case = interactions.get(first.interaction_id)
        case.make_promises(app.clocks, policies, by="assistant", reason="test", at=clock())
        interactions.save(case)
        ids = [c.id for c in case.clocks if c.policy in policies]
        assert len(set(ids)) == 3 and None not in ids
        case.keep_promises(("ack-2",), by="assistant", reason="answered", at=clock())
        interactions.save(case)
        uow.commit()
    c = t.clocks.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.clocks).where(c.id.in_(ids)).order_by(c.id)).all()
    assert [r.policy for r in rows] == list(policies)
    assert {r.policy: r.outcome for r in rows} == {
        "handoff-3": None,
        "ack-2": MET,
        "after-job-2": None,
    }
