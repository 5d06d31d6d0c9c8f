"""Every clock change goes through the Interaction aggregate and records a typed event:
promises made (a new enquiry, a complaint stage, the appointments team's call), kept by what
happened (the acknowledgement sent, the complaint acknowledged), extended with a reason,
and resumed when the resident answers. Over the in-memory repository: no database."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.domain import events as ev
from bot.domain.interaction import Interaction
from bot.domain.repository import InMemoryInteractions
from bot.service.clocks import ClockService
from sla import LONDON, PRESETS, Calendar
from sla.clock import BREACHED, MET

RULES = ClockService(dict(PRESETS), Calendar())
MONDAY = datetime(2026, 6, 1, 10, tzinfo=LONDON)


def stored(*policies: str, topic: str = "repair") -> InMemoryInteractions:
    case = Interaction(
        id=1,
        reference="HA-2026-000001",
        channel="email",
        topic=topic,
        urgency="routine",
        team="repairs",
        owner=None,
    )
    if policies:
        case.make_promises(RULES, policies, by="assistant", reason="new enquiry", at=MONDAY)
    return InMemoryInteractions(case)


def logged(repo: InMemoryInteractions, kind: type[ev.Event]) -> list[ev.Event]:
    return [e for _, e in repo.log if isinstance(e, kind)]


def test_make_promises_counts_from_when_the_resident_wrote_and_records_it() -> None:
    repo = stored()
    case = repo.get(1)
    wrote = MONDAY - timedelta(hours=3)
    started = case.make_promises(
        RULES, ("email-ack-now", "respond-10"), by="assistant", reason="new enquiry",
        at=MONDAY, since=wrote,
    )  # fmt: skip
    repo.save(case)
    assert [c.started_at for c in started] == [wrote, wrote]
    assert {c.policy for c in repo.get(1).open_clocks()} == {"email-ack-now", "respond-10"}
    (event,) = logged(repo, ev.ClocksStarted)
    assert isinstance(event, ev.ClocksStarted)
    assert event.policies == ("email-ack-now", "respond-10")
    assert event.due_at == min(c.due_at for c in started)
    assert event.detail()["reason"] == "new enquiry"
    assert repo.get(1).updated_at == MONDAY  # the change happened now, not when they wrote


def test_making_no_promise_records_nothing() -> None:
    repo = stored()
    case = repo.get(1)
    assert case.make_promises(RULES, (), by="assistant", reason="none", at=MONDAY) == []
    assert case.events == [] and case.changed == set()


def test_the_acknowledgement_sent_keeps_its_promise_only() -> None:
    repo = stored("email-ack-now", "respond-10")
    case = repo.get(1)
    ended = case.keep_promises(
        ("email-ack-now",), by="assistant", reason="acknowledgement sent", at=MONDAY
    )
    repo.save(case)
    assert ended == {"email-ack-now": MET}
    assert [c.policy for c in repo.get(1).open_clocks()] == ["respond-10"]
    kept = logged(repo, ev.ClocksKept)
    assert len(kept) == 1 and isinstance(kept[0], ev.ClocksKept)
    assert kept[0].ended == {"email-ack-now": MET}
    assert kept[0].reason == "acknowledgement sent"


def test_kept_late_is_breached_and_keeping_nothing_open_records_nothing() -> None:
    repo = stored("ack-2")
    case = repo.get(1)
    late = MONDAY + timedelta(days=10)
    assert case.keep_promises(("ack-2",), by="assistant", reason="sent", at=late) == {
        "ack-2": BREACHED
    }
    repo.save(case)
    again = repo.get(1)
    # Sent twice (a retry): the second send finds the clock ended and changes nothing.
    assert again.keep_promises(("ack-2",), by="assistant", reason="sent", at=late) == {}
    assert again.events == [] and again.changed == set()


def test_extend_clock_moves_the_deadline_with_a_reason_within_the_policy() -> None:
    repo = stored("complaint-stage1-response", topic="complaint")
    case = repo.get(1)
    before = case.open_clocks()[0].clock.due_at
    clock = case.extend_clock(
        RULES, "complaint-stage1-response", days=5, reason="waiting for a survey",
        by="cara@landlord.example", at=MONDAY,
    )  # fmt: skip
    repo.save(case)
    assert clock is not None and clock.due_at > before
    assert repo.get(1).open_clocks()[0].clock.extension_reason == "waiting for a survey"
    (event,) = logged(repo, ev.ClockExtended)
    assert isinstance(event, ev.ClockExtended) and event.days == 5
    assert event.due_at == clock.due_at
    with pytest.raises(ValueError):  # beyond what the Code allows: sla refuses it
        repo.get(1).extend_clock(
            RULES, "complaint-stage1-response", days=50, reason="x", by="c", at=MONDAY
        )


def test_extend_clock_without_that_clock_changes_nothing() -> None:
    case = stored("respond-10").get(1)
    assert case.extend_clock(RULES, "ack-2", days=1, reason="r", by="c", at=MONDAY) is None
    assert case.events == []


def test_the_resident_answering_resumes_paused_clocks_with_an_event() -> None:
    repo = stored("respond-10")
    case = repo.get(1)
    case.pause(by="rita@landlord.example", at=MONDAY)
    repo.save(case)
    case = repo.get(1)
    assert case.resident_answered(RULES, at=MONDAY + timedelta(days=2)) == 1
    repo.save(case)
    (event,) = logged(repo, ev.ClocksResumed)
    assert isinstance(event, ev.ClocksResumed) and event.by == "resident"
    assert repo.get(1).open_clocks()[0].clock.paused_at is None
    # Nothing paused: nothing to resume, nothing recorded.
    case = repo.get(1)
    assert case.resident_answered(RULES, at=MONDAY + timedelta(days=3)) == 0
    assert case.events == []
