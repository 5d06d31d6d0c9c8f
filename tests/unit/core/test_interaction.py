"""The Interaction aggregate over the in-memory repository: the only code that changes status,
team, owner and clocks, the events it records, and honest settlement of promises (a case
closed as "Repair booked" does not keep Awaab's Law; a complaint closed before it was
acknowledged did not meet complaint-stage1-ack), counted so by sla.reports."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.domain import events as ev
from bot.domain.interaction import (
    KEPT,
    Interaction,
    Settlement,
    settlements_on_close,
)
from bot.domain.repository import InMemoryInteractions
from bot.errors import ConflictError, DoorstepError, InvalidError, NotFoundError, http_status
from bot.service.clocks import ClockService
from sla import LONDON, PRESETS, Calendar, ClockRecord, headlines, share_met
from sla.clock import BREACHED, MET, NOT_MET, SUPERSEDED, WITHDRAWN

RULES = ClockService(dict(PRESETS), Calendar())
MONDAY = datetime(2026, 6, 1, 10, tzinfo=LONDON)


def opened(*policies: str, topic: str = "repair", urgency: str = "routine") -> Interaction:
    case = Interaction(
        id=1,
        reference="HA-2026-000001",
        channel="email",
        topic=topic,
        urgency=urgency,
        team="repairs",
        owner=None,
    )
    for policy in policies:
        case.start_clock(RULES, policy, MONDAY)
    return case


def outcomes(case: Interaction) -> dict[str, str | None]:
    return {c.policy: c.clock.outcome for c in case.clocks}


def test_closing_as_repair_booked_does_not_keep_the_awaab_emergency_clock() -> None:
    repo = InMemoryInteractions(opened("email-3", "respond-10", "awaab-emergency"))
    case = repo.get(1)
    at = MONDAY + timedelta(hours=2)
    chosen = settlements_on_close(case, "repair_booked", told=True, label="Repair booked")
    case.close(
        outcome="repair_booked", text="Repair booked", settlements=chosen, by="r", at=at, told=True
    )
    repo.save(case)
    ended = outcomes(repo.get(1))
    assert ended["awaab-emergency"] == NOT_MET  # booking a repair is not making it safe
    assert ended["email-3"] == MET  # the closing message answered the resident in time
    assert ended["respond-10"] == MET  # a booked repair, told: the full response
    reasons = {c.policy: c.clock.outcome_reason for c in repo.get(1).clocks}
    assert reasons["awaab-emergency"] and "Repair booked" in reasons["awaab-emergency"]
    closed = [e for _, e in repo.log if isinstance(e, ev.Closed)]
    assert closed and closed[0].settled["awaab-emergency"] == NOT_MET


def test_staff_can_record_the_hazard_made_safe() -> None:
    case = opened("awaab-emergency", urgency="emergency")
    chosen = {"awaab-emergency": Settlement(KEPT, "made safe, as recorded by rita")}
    case.close(
        outcome="resolved", text="Resolved", settlements=chosen, by="r", at=MONDAY, told=False
    )
    assert outcomes(case) == {"awaab-emergency": MET}


def test_a_complaint_closed_before_acknowledgement_did_not_meet_stage1_ack() -> None:
    case = opened("ack-2", "complaint-procedure-1", "complaint-stage1-ack", topic="complaint")
    case.keep(("ack-2",), MONDAY, "acknowledgement sent")
    chosen = settlements_on_close(case, "resolved", told=True, label="Resolved")
    case.close(
        outcome="resolved", text="Resolved", settlements=chosen, by="r", at=MONDAY, told=True
    )
    ended = outcomes(case)
    assert ended["complaint-stage1-ack"] == NOT_MET
    assert ended["complaint-procedure-1"] == NOT_MET
    assert ended["ack-2"] == MET


def test_close_refuses_an_open_promise_without_a_settlement() -> None:
    case = opened("email-3", "awaab-emergency")
    with pytest.raises(InvalidError, match="awaab-emergency"):
        case.close(
            outcome="resolved",
            text="Resolved",
            settlements={"email-3": Settlement(KEPT, "answered")},
            by="r",
            at=MONDAY,
            told=True,
        )
    assert all(c.clock.is_open for c in case.clocks) and not case.is_closed


def test_withdrawn_and_duplicate_are_set_aside_not_met() -> None:
    case = opened("email-3", "respond-10")
    chosen = settlements_on_close(case, "withdrawn", told=True, label="Withdrawn")
    assert {s.outcome for s in chosen.values()} == {WITHDRAWN}
    chosen = settlements_on_close(case, "duplicate", told=False, label="Duplicate")
    assert {s.outcome for s in chosen.values()} == {SUPERSEDED}


def test_not_told_means_not_kept() -> None:
    case = opened("email-3", "respond-10")
    chosen = settlements_on_close(case, "resolved", told=False, label="Resolved")
    assert {s.outcome for s in chosen.values()} == {NOT_MET}


def test_kept_late_is_breached() -> None:
    case = opened("email-ack-now")
    case.keep(("email-ack-now",), MONDAY + timedelta(days=1), "acknowledgement sent")
    assert outcomes(case) == {"email-ack-now": BREACHED}


def test_a_settlement_must_be_a_choice_with_a_reason() -> None:
    with pytest.raises(InvalidError):
        Settlement("done", "because")
    with pytest.raises(InvalidError):
        Settlement(KEPT, "  ")


def test_reply_keeps_the_message_promises_only() -> None:
    case = opened("email-3", "respond-10", "awaab-investigate")
    met = case.replied(by="rita@x", at=MONDAY + timedelta(hours=1))
    assert met == ["email-3"]
    assert outcomes(case) == {"email-3": MET, "respond-10": None, "awaab-investigate": None}
    assert isinstance(case.events[-1], ev.Replied)
    assert case.events[-1].detail()["met"] == ["email-3"]


def test_transfer_supersedes_the_previous_handoff_clock() -> None:
    case = opened("handoff-3")
    clock = case.transfer(
        RULES,
        team="asb",
        owner=None,
        owner_name="Community Safety team",
        policy="handoff-3",
        note="",
        by="rita@x",
        at=MONDAY,
    )
    assert (case.team, case.owner) == ("asb", None)
    assert [c.clock.outcome for c in case.clocks] == [SUPERSEDED, None]
    assert case.clocks[1].clock == clock
    with pytest.raises(ConflictError, match="already with"):
        case.transfer(
            RULES,
            team="asb",
            owner=None,
            owner_name="Community Safety team",
            policy="handoff-3",
            note="",
            by="rita@x",
            at=MONDAY,
        )
    assert case.events[-1].kind == "transferred"


def test_closed_case_refuses_changes_and_reopens_with_a_response_clock() -> None:
    repo = InMemoryInteractions(opened("email-3"))
    case = repo.get(1)
    case.close(
        outcome="resolved",
        text="Resolved",
        settlements=settlements_on_close(case, "resolved", told=True, label="Resolved"),
        by="r",
        at=MONDAY,
        told=True,
    )
    repo.save(case)
    case = repo.get(1)
    with pytest.raises(ConflictError):
        case.replied(by="r", at=MONDAY)
    with pytest.raises(ConflictError):
        case.pause(by="r", at=MONDAY)
    clock = case.reopen(RULES, by="resident", at=MONDAY, reason="wrote again", policy="email-3")
    assert clock is not None and not case.is_closed
    assert [c.clock.is_open for c in case.clocks] == [False, True]
    repo.save(case)
    assert [type(e) for _, e in repo.log] == [ev.Closed, ev.Reopened]


def test_unsaved_changes_are_not_seen_and_unknown_ids_are_not_found() -> None:
    repo = InMemoryInteractions(opened("email-3"))
    case = repo.get(1)
    case.pause(by="r", at=MONDAY)
    assert repo.get(1).clocks[0].clock.paused_at is None
    with pytest.raises(NotFoundError):
        repo.get(2)
    assert http_status(NotFoundError("x")) == 404
    assert isinstance(InvalidError("x"), ValueError | DoorstepError)


def test_reports_count_settlements_honestly() -> None:
    case = opened("ack-2", "respond-10", "awaab-emergency", "email-3")
    case.keep(("ack-2",), MONDAY, "acknowledgement sent")
    case.settle("respond-10", Settlement(WITHDRAWN, "withdrawn by the resident"), MONDAY)
    case.settle("email-3", Settlement(SUPERSEDED, "duplicate"), MONDAY)
    case.settle("awaab-emergency", Settlement(NOT_MET, "closed as Repair booked"), MONDAY)
    records = [
        ClockRecord(
            c.policy,
            c.promise,
            "email",
            "repair",
            c.clock.due_at,
            c.clock.stopped_at,
            c.clock.outcome,
        )
        for c in case.clocks
    ]
    start, end = MONDAY - timedelta(days=1), MONDAY + timedelta(days=30)
    rows = {r.key[0]: r for r in share_met(records, start, end)}
    assert (rows["ack-2"].met, rows["ack-2"].breached) == (1, 0)
    assert (rows["awaab-emergency"].met, rows["awaab-emergency"].breached) == (0, 1)
    assert (rows["respond-10"].met, rows["respond-10"].breached) == (0, 0)
    assert rows["respond-10"].set_aside == 1 and rows["respond-10"].share_met is None
    full = {r.key[0]: r for r in headlines(records, start, end)}
    assert full["2-ten: full response in 10 working days"].set_aside == 1


def test_handlers_are_registered_in_one_place_and_run_after_save(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.service import handlers

    assert handlers.EVENT_HANDLERS[ev.Transferred] == [handlers.tell_resident_new_owner]
    seen: list[tuple[int, str]] = []
    monkeypatch.setitem(
        handlers.EVENT_HANDLERS, ev.Taken, [lambda i, e, ctx: seen.append((i, e.kind))]
    )
    repo = InMemoryInteractions(opened("email-3"))
    case = repo.get(1)
    case.take(owner="Rita@x", at=MONDAY)
    ctx = handlers.Context(uow=None, services=None, at=MONDAY)  # type: ignore[arg-type]
    handlers.save_and_handle(repo, case, ctx)
    assert seen == [(1, "taken")]
    assert repo.get(1).owner == "rita@x"
