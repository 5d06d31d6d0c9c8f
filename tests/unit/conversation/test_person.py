"""HANDOFF with in-memory fakes: "talk to a person" gets one message. In the web chat the
live queue is asked straight after the hand-off request and the reply says where the
resident is in it, or keeps the phone and the deadline; by text the request is recorded
through the aggregate and the resident gets the number to call now (in office hours) and
the team's honest hand-off deadline."""

from __future__ import annotations

from bot.conversation.builtin import BuiltInEngine
from bot.conversation.engine import PERSON_PAYLOAD, PersonOffer
from bot.conversation.person import PersonNow
from bot.conversation.unsure import AskWhenUnsure
from bot.domain import events as ev
from bot.domain.model import Channel
from tests.unit.conversation.fakes import MONDAY_21, Chat, classified

QUEUED = PersonOffer(live=True, notice="You are next in the queue. Please keep this page open.")
ASK_HUMAN = classified("general", "routine", "ask_human")
PHONE = "0300"  # every configured number in the fakes' organisation starts so


def engine() -> AskWhenUnsure:
    return AskWhenUnsure(PersonNow(BuiltInEngine()))


def _handoffs(chat: Chat) -> list[ev.HandoffRequested]:
    return [e for _, e in chat.conversation.interactions.log if isinstance(e, ev.HandoffRequested)]


# ---- web chat --------------------------------------------------------------------------------


def test_queued_the_resident_reads_one_message_where_they_are_in_the_queue() -> None:
    chat = Chat(engine(), Channel.WEBCHAT)
    chat.conversation.person = QUEUED
    chat.say("My sink is blocked", classified())
    (row,) = chat.say(PERSON_PAYLOAD, classified("general", "routine", "other"))
    assert row.body == QUEUED.notice  # not the hand-off reply and then the queue
    assert row.kind == "handoff" and row.meta["template"] == "live_queued.txt.j2"
    assert chat.conversation.offered == [1]  # straight after the request, once
    assert len(_handoffs(chat)) == 1  # the request itself went through the aggregate


def test_nobody_available_keeps_the_hand_off_reply_with_the_number_and_deadline() -> None:
    chat = Chat(engine(), Channel.WEBCHAT)
    chat.say("My sink is blocked", classified())
    (row,) = chat.say(PERSON_PAYLOAD, classified("general", "routine", "other"))
    assert chat.conversation.offered == [1]
    assert "I have asked the Repairs team to pick this up." in row.body
    assert "To talk to someone now, call us on" in row.body
    assert "queue" not in row.body


def test_a_first_message_asking_for_a_person_is_acknowledged_and_queued_in_one() -> None:
    chat = Chat(engine(), Channel.WEBCHAT)
    chat.conversation.person = QUEUED
    (row,) = chat.say("Can I talk to a person about my rent?", ASK_HUMAN)
    assert row.kind == "acknowledgement" and row.meta["clock"] == "ack-2"
    assert "DS-2026-000001" in row.body and QUEUED.notice in row.body
    assert "I have asked" not in row.body


def test_asking_again_does_not_ask_the_queue_again() -> None:
    chat = Chat(engine(), Channel.WEBCHAT)
    chat.conversation.person = QUEUED
    chat.say("My sink is blocked", classified())
    chat.say(PERSON_PAYLOAD, ASK_HUMAN)
    (again,) = chat.say(PERSON_PAYLOAD, ASK_HUMAN)
    assert chat.conversation.offered == [1]
    assert "You have already asked for a person." in again.body


def test_a_repair_that_mentions_someone_is_not_a_hand_off() -> None:
    chat = Chat(engine(), Channel.WEBCHAT)
    chat.conversation.person = QUEUED
    chat.say("Someone has smashed the window of my front door", classified())
    assert chat.conversation.offered == [] and _handoffs(chat) == []


# ---- by text -----------------------------------------------------------------------------


def test_a_text_asking_for_a_person_gets_the_number_now_and_the_hand_off_deadline() -> None:
    chat = Chat(engine(), Channel.SMS)
    chat.say("My sink is blocked", classified())
    (row,) = chat.say("Can I speak to someone please", ASK_HUMAN)
    (request,) = _handoffs(chat)
    assert request.by == "resident" and request.extra["channel"] == "sms"
    handoff = [c for c in chat.case().open_clocks() if c.policy.startswith("handoff-")]
    assert [c.clock.due_at for c in handoff] == [request.due_at]  # the honest deadline
    assert "The Repairs team will reply to DS-2026-000001 by" in row.body
    assert "To talk to someone now, call" in row.body
    assert row.kind == "handoff" and row.meta["template"] == "person_asked.txt.j2"
    assert chat.conversation.offered == []  # no live queue by text


def test_out_of_hours_the_text_says_when_we_open_and_the_emergency_line() -> None:
    chat = Chat(engine(), Channel.SMS, now=MONDAY_21)
    chat.say("My sink is blocked", classified())
    (row,) = chat.say("I want to talk to a human", ASK_HUMAN)
    assert "Our office is closed now." in row.body and "call 999" in row.body
    assert "To talk to someone now" not in row.body
    assert len(_handoffs(chat)) == 1


def test_a_first_text_asking_for_a_person_is_its_acknowledgement() -> None:
    chat = Chat(engine(), Channel.SMS)
    (row,) = chat.say("Can I speak to a person", ASK_HUMAN)
    assert row.kind == "acknowledgement" and row.meta["clock"] == "ack-2"
    assert row.idempotency_key == "ack:sms:m1"
    assert "DS-2026-000001" in row.body and "To talk to someone now" in row.body
    assert len(_handoffs(chat)) == 1


def test_asking_twice_by_text_is_one_request() -> None:
    chat = Chat(engine(), Channel.SMS)
    chat.say("My sink is blocked", classified())
    chat.say("Can I speak to someone please", ASK_HUMAN)
    (again,) = chat.say("Can I speak to someone please", ASK_HUMAN)
    assert len(_handoffs(chat)) == 1
    assert again.body.startswith("You have already asked for a person.")


def test_an_ordinary_later_text_still_gets_nothing() -> None:
    chat = Chat(engine(), Channel.SMS)
    chat.say("My sink is blocked", classified())
    assert chat.say("Someone can come any day", classified()) == []
    assert _handoffs(chat) == []
