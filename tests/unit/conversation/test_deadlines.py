"""Which deadline the resident is told (HANDOFF, RESP-10), with in-memory fakes: a reply
promise, never an acknowledgement's clock nor Awaab's Law's 24-hour make-safe clock, which
is work on the home and not a reply."""

from __future__ import annotations

from datetime import datetime

from actions.wording import deadline_in_words
from bot.conversation.builtin import BuiltInEngine
from bot.conversation.person import PersonNow
from bot.conversation.unsure import AskWhenUnsure
from bot.domain.interaction import Interaction
from bot.domain.model import Channel
from tests.unit.conversation.fakes import MONDAY_10, RULES, Chat, classified

WATER = "Is water near lights or sockets, or can you not stop it?"
YES = classified("general", "routine", "affirm")


def _case(*policies: str) -> Interaction:
    case = Interaction(
        id=1, reference="DS-2026-000001", channel="sms", topic="repair", urgency="emergency",
        team="repairs", owner=None,
    )  # fmt: skip
    for policy in policies:
        case.start_clock(RULES, policy, MONDAY_10)
    return case


def _due(case: Interaction, policy: str) -> datetime:
    return next(c.clock.due_at for c in case.clocks if c.policy == policy)


def test_the_reply_due_is_the_reply_clock_not_awaab_nor_the_acknowledgement() -> None:
    case = _case("ack-2", "handoff-urgent-1", "respond-10", "awaab-emergency")
    assert case.reply_due(RULES, MONDAY_10) == _due(case, "handoff-urgent-1")


def test_with_no_reply_clock_running_the_reply_due_is_when_resp_10_would_be() -> None:
    case = _case("ack-2", "awaab-emergency")
    expected = RULES.deadline("respond-10", MONDAY_10)
    assert case.reply_due(RULES, MONDAY_10) == expected
    assert len(case.clocks) == 2  # a question only: no clock started


def test_a_hand_off_deadline_is_not_the_acknowledgement_clock() -> None:
    case = _case("ack-2", "handoff-3", "respond-10")
    due = case.request_handoff(RULES, policy="handoff-3", reason="asked", by="resident",
                               at=MONDAY_10)  # fmt: skip
    assert due == _due(case, "handoff-3") != _due(case, "ack-2")


def test_after_a_yes_the_resident_is_told_the_urgent_reply_deadline() -> None:
    chat = Chat(AskWhenUnsure(PersonNow(BuiltInEngine())), Channel.SMS)
    leak = classified(urgency="urgent", hazards=(("leak", "emergency_repairs"),), ask=WATER)
    chat.say("Water is coming through the ceiling", leak)
    (row,) = chat.say("YES", YES)
    case = chat.case()
    told = deadline_in_words(_due(case, "handoff-urgent-1"), now=MONDAY_10)
    assert told in row.body
    assert deadline_in_words(_due(case, "awaab-emergency"), now=MONDAY_10) not in row.body
