"""The conversation engine with in-memory fakes (no database): what the built-in engine says
on each channel, hand-off only from the button or the classifier's intent, the safety
question asked once and its answer triaged (EMERGENCY), and Rasa as an engine with the
built-in one as its fall-back (Rasa's HTTP faked at httpx's transport, its boundary)."""

from __future__ import annotations

import json

import httpx
import pytest

from bot.conversation.builtin import BuiltInEngine
from bot.conversation.engine import PERSON_PAYLOAD, ConversationEngine, Reply
from bot.conversation.rasa import RasaEngine
from bot.conversation.unsure import AskWhenUnsure
from bot.domain import events as ev
from bot.domain.model import Channel
from bot.domain.safety import DANGER_ADVICE, WATER_ELECTRICS_ADVICE
from bot.nlu.types import Classification
from bot.settings import Rasa, Settings
from sla.clock import SUPERSEDED
from tests.unit.conversation.fakes import MONDAY_21, Chat, classified

LEAK_QUESTION = "Is water near lights or sockets, or can you not stop it?"
UNSURE_QUESTION = "Is anyone in danger now, or is water near lights or sockets?"


def engine() -> AskWhenUnsure:
    return AskWhenUnsure(BuiltInEngine())


def leak() -> Classification:
    return classified(urgency="urgent", hazards=(("leak", "emergency_repairs"),), ask=LEAK_QUESTION)


YES = classified("general", "routine", "affirm")
NO = classified("general", "routine", "deny")
OTHER = classified("general", "routine", "general_enquiry")


# ---- the built-in engine -------------------------------------------------------------------


def test_a_new_text_is_answered_with_the_acknowledgement_which_keeps_ack_2() -> None:
    chat = Chat(engine(), Channel.SMS)
    (row,) = chat.say("My sink is blocked", classified())
    assert row.kind == "acknowledgement" and row.meta["clock"] == "ack-2"
    assert row.idempotency_key == "ack:sms:m1"  # the pipeline's own copy is then a no-op
    assert "DS-2026-000001" in row.body


def test_a_later_text_gets_no_second_acknowledgement() -> None:
    chat = Chat(engine(), Channel.SMS)
    chat.say("My sink is blocked", classified())
    assert chat.say("and the hall light too", classified()) == []


def test_a_new_chat_in_office_hours_offers_a_person_in_the_same_message() -> None:
    chat = Chat(engine(), Channel.WEBCHAT)
    (row,) = chat.say("My sink is blocked", classified())
    assert "Would you like to talk to a person?" in row.body
    assert json.loads(row.meta["buttons"]) == [
        {"title": "Talk to a person", "payload": PERSON_PAYLOAD}
    ]


def test_a_new_chat_out_of_hours_says_when_we_open_and_the_emergency_route_once() -> None:
    chat = Chat(engine(), Channel.WEBCHAT, now=MONDAY_21)
    (row,) = chat.say("My sink is blocked", classified())
    assert "Our office is closed now." in row.body
    assert row.body.count("If anyone is in danger, call 999.") == 1
    assert "buttons" not in row.meta


def test_asking_for_a_person_hands_off_through_the_aggregate() -> None:
    chat = Chat(engine(), Channel.WEBCHAT)
    chat.say("My sink is blocked", classified())
    (row,) = chat.say("Can I talk to a person?", classified("general", "routine", "ask_human"))
    assert "I have asked the Repairs team to pick this up" in row.body
    assert "call us on" in row.body  # office hours: a number to call now
    handoffs = [
        e for _, e in chat.conversation.interactions.log if isinstance(e, ev.HandoffRequested)
    ]
    assert len(handoffs) == 1
    (again,) = chat.say(PERSON_PAYLOAD, None)  # the button
    assert "You have already asked for a person." in again.body


def test_words_like_someone_are_not_a_hand_off() -> None:
    chat = Chat(engine(), Channel.WEBCHAT)
    chat.say("Hello", classified("general", "routine", "greet"))
    (row,) = chat.say("Someone has smashed the window of my front door", classified())
    assert "I have asked" not in row.body
    assert not chat.conversation.handoff_requested(1)


def test_a_chat_question_we_can_answer_is_answered_from_the_landlord_details() -> None:
    chat = Chat(engine(), Channel.WEBCHAT)
    chat.say("Hello", classified("general", "routine", "greet"))
    (row,) = chat.say("What is your phone number?", OTHER)
    assert chat.conversation.settings.organisation.phone in row.body
    assert "DS-2026-000001" not in row.body or "will reply" in row.body


# ---- safe when unsure ----------------------------------------------------------------------


def test_the_safety_question_is_asked_once_after_the_acknowledgement() -> None:
    chat = Chat(engine(), Channel.SMS)
    ack, question = chat.say("Water is leaking from the ceiling", leak())
    assert ack.kind == "acknowledgement"
    assert question.kind == "question" and question.body.startswith(LEAK_QUESTION)
    assert "reply YES or NO" in question.body
    assert chat.conversation.pending_question(1) == LEAK_QUESTION


def test_in_the_chat_the_question_has_yes_and_no_buttons() -> None:
    chat = Chat(engine(), Channel.WEBCHAT)
    _, question = chat.say("Water is leaking from the ceiling", leak())
    assert [b["title"] for b in json.loads(question.meta["buttons"])] == ["Yes", "No"]


@pytest.mark.parametrize("answer", ["Yes", "yes it is", "Yeah, near the light", "Ydy", "ie"])
def test_yes_raises_the_urgency_and_says_what_to_do_now_first(answer: str) -> None:
    chat = Chat(engine(), Channel.SMS)
    chat.say("Water is leaking from the ceiling", leak())
    (row,) = chat.say(answer, YES if answer.startswith("Y") else OTHER)
    assert row.body.splitlines()[0] == WATER_ELECTRICS_ADVICE  # what to do now, first
    assert "emergency" in row.body
    case = chat.case()
    assert case.urgency == "emergency"
    raised = [e for _, e in chat.conversation.interactions.log if isinstance(e, ev.Reclassified)]
    assert [(e.from_urgency, e.urgency, e.by) for e in raised] == [
        ("urgent", "emergency", "resident")
    ]
    assert "awaab-emergency" in {c.policy for c in case.open_clocks()}  # Awaab's Law
    assert chat.conversation.pending_question(1) is None


def test_yes_to_the_unsure_question_supersedes_the_slower_hand_off_clock() -> None:
    chat = Chat(engine(), Channel.SMS)
    chat.say("There is water on the floor", classified(ask=UNSURE_QUESTION))
    (row,) = chat.say("YES", YES)
    assert DANGER_ADVICE in row.body and WATER_ELECTRICS_ADVICE in row.body
    case = chat.conversation.interactions.get(1)
    running = {c.policy for c in case.open_clocks()}
    assert "handoff-urgent-1" in running and "handoff-3" not in running
    slow = [c for c in case.clocks if c.policy == "handoff-3"]
    assert slow and slow[0].clock.outcome == SUPERSEDED


@pytest.mark.parametrize("answer", ["No", "no it isn't", "Nope", "Na", "Nac ydy"])
def test_no_keeps_the_urgency_the_hazard_rule_set(answer: str) -> None:
    chat = Chat(engine(), Channel.SMS)
    chat.say("Water is leaking from the ceiling", leak())
    (row,) = chat.say(answer, OTHER)
    assert row.body.startswith("Thank you.") and "will reply" in row.body
    assert chat.case().urgency == "urgent"  # never below what the leak rule said
    assert not any(isinstance(e, ev.Reclassified) for _, e in chat.conversation.interactions.log)
    assert chat.conversation.pending_question(1) is None  # asked once
    assert chat.say("Thanks", OTHER) == []  # no second question, no second answer


@pytest.mark.parametrize("answer", ["not sure", "No idea", "maybe", "the kitchen", "?"])
def test_an_unclear_answer_keeps_the_emergency_route_and_changes_nothing(answer: str) -> None:
    chat = Chat(engine(), Channel.WEBCHAT)
    chat.say("Water is leaking from the ceiling", leak())
    first, *rest = chat.say(answer, OTHER)
    assert first.kind == "safety" and "call" in first.body and "999" in first.body
    assert [r.kind for r in rest] == ["reply"]  # the chat then answers the message as usual
    assert chat.case().urgency == "urgent"
    assert chat.conversation.answers[-1][2] == "unclear"


def test_an_answer_that_is_itself_an_emergency_counts_as_yes() -> None:
    chat = Chat(engine(), Channel.SMS)
    chat.say("Water is leaking from the ceiling", leak())
    sparking = classified(urgency="emergency", hazards=(("water_electrics", "emergency_repairs"),))
    (row,) = chat.say("No but now the light is sparking", sparking)
    assert row.body.startswith(WATER_ELECTRICS_ADVICE)
    assert chat.case().urgency == "emergency"


def test_nothing_is_asked_on_an_emergency_or_on_social() -> None:
    gas = classified(urgency="emergency", hazards=(("gas", "gas"),), ask=None)
    assert [r.kind for r in Chat(engine(), Channel.SMS).say("I smell gas", gas)] == [
        "acknowledgement"
    ]
    social = Chat(engine(), Channel.SOCIAL)
    assert [r.kind for r in social.say("leak", leak())] == ["acknowledgement"]


def test_asking_for_a_person_instead_of_answering_hands_off() -> None:
    chat = Chat(engine(), Channel.WEBCHAT)
    chat.say("Water is leaking from the ceiling", leak())
    (row,) = chat.say(PERSON_PAYLOAD, None)
    assert row.kind == "handoff"
    assert chat.conversation.pending_question(1) is None


# ---- Rasa as an engine ---------------------------------------------------------------------


class Fallback:
    def __init__(self) -> None:
        self.turns = 0

    def respond(self, turn: object) -> list[Reply]:
        self.turns += 1
        return [Reply("Built-in here.", acknowledges=True)]


def rasa(handler: httpx.MockTransport, fallback: ConversationEngine | None = None) -> RasaEngine:
    settings = Settings(rasa=Rasa(url="http://rasa.invalid", timeout_seconds=1))
    return RasaEngine(settings, fallback=fallback, client=httpx.Client(transport=handler))


def test_rasa_replies_become_replies_and_the_first_acknowledges() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["metadata"]["doorstep"]["new"] is True
        return httpx.Response(200, json=[{"text": "Sorry to hear that."}, {"text": "Where?"}])

    chat = Chat(AskWhenUnsure(rasa(httpx.MockTransport(answer))), Channel.WEBCHAT)
    first, second = chat.say("My sink is blocked", classified())
    assert first.meta["clock"] == "ack-2" and first.meta["engine"] == "rasa"
    assert second.body == "Where?" and "clock" not in second.meta
    assert chat.conversation.checkpoints == 1  # durable before waiting on Rasa
    assert [kind for _, kind, _ in chat.conversation.notes] == ["assistant_turn"]


def test_a_first_turn_rasa_answered_gets_no_second_question_from_us() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=[{"text": "Where?"}]))
    chat = Chat(AskWhenUnsure(rasa(transport, Fallback())), Channel.SMS)
    (row,) = chat.say("Water is leaking from the ceiling", leak())
    assert row.body == "Where?" and chat.conversation.pending_question(1) is None


def test_when_rasa_is_down_the_built_in_engine_asks_and_triages_the_answer() -> None:
    transport = httpx.MockTransport(lambda r: httpx.Response(503))
    chat = Chat(AskWhenUnsure(rasa(transport, BuiltInEngine())), Channel.SMS)
    ack, question = chat.say("Water is leaking from the ceiling", leak())
    assert (ack.kind, question.kind) == ("acknowledgement", "question")
    (row,) = chat.say("yes", YES)  # not sent to Rasa: the answer to our question
    assert row.kind == "safety" and chat.case().urgency == "emergency"


@pytest.mark.parametrize("status", [500, 200])
def test_when_rasa_fails_or_is_silent_the_built_in_engine_answers(status: int) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=[]))
    fallback = Fallback()
    chat = Chat(rasa(transport, fallback), Channel.SMS)
    (row,) = chat.say("My sink is blocked", classified())
    assert row.body == "Built-in here." and fallback.turns == 1
    assert [kind for _, kind, _ in chat.conversation.notes] == ["assistant_unavailable"]
