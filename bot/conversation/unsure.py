"""Safe when unsure: ask the one short question, once, and triage the answer (EMERGENCY).

The classifier sets `Classification.ask` when a message may be an emergency but nothing
says it is ("Is water near lights or sockets, or can you not stop it?", "Is anyone in
danger now ...?"). In the web chat and by text, `AskWhenUnsure` wraps the engine (built-in
or Rasa): after the built-in engine's first reply it asks that question and remembers, per
interaction, that it asked; the resident's next message is the answer, whichever engine
would otherwise take it. (Rasa's own forms ask their own triage questions, so a first turn
Rasa answered gets no second question from us.)

- Yes (or an answer that is itself an emergency): the urgency is raised through the
  aggregate (`reclassified`), the clocks the emergency plan adds start now
  (bot.domain.promises: the urgent first answer supersedes the slower one; Awaab's Law for
  a repair hazard), and the reply opens with what to do now (bot.domain.safety).
- No: the urgency stays as it is, never below what a hazard rule set (nothing lowers it).
- Unclear: nothing changes; the reply keeps the emergency route open, then the engine
  answers the message as usual. The question is not asked again.
"""

from __future__ import annotations

import re
from typing import Literal

from actions.wording import deadline_in_words
from bot.conversation.builtin import reply_deadline
from bot.conversation.engine import ConversationEngine, Reply, Turn, wants_person
from bot.domain.interaction import Interaction, Settlement
from bot.domain.model import Channel, Topic, Urgency
from bot.domain.promises import plan_for
from bot.domain.safety import what_to_do_now
from bot.service.language import answer_buttons, voice_for_turn
from sla.clock import SUPERSEDED

Verdict = Literal["yes", "no", "unclear"]

ASKED_ON = (Channel.WEBCHAT, Channel.SMS)

# English and Welsh (ie, ydy, ydw, oes / na, nac ydy, naddo): the first word decides.
_YES = frozenset(
    {"yes", "yeah", "yea", "yep", "yup", "y", "aye", "correct", "definitely", "ie", "ydy",
     "ydw", "ydyn", "oes"}
)  # fmt: skip
_NO = frozenset({"no", "nope", "nah", "n", "na", "nac", "nag", "naddo", "dim", "negative"})
# Words that make any answer unclear, whatever it starts with ("no idea", "yes and no").
_UNSURE = re.compile(
    r"\b(?:not sure|unsure|no idea|don'?t know|dont know|dunno|maybe|perhaps|might be|"
    r"yes and no|ddim yn si[wŵ]r|dwi ddim yn gwybod)\b"
)
_WORD = re.compile(r"[\w'ŵŷ]+")
# The emergency a yes to each question confirms (bot.nlu.rules' questions), so the advice
# and Awaab's Law clock fit it.
_CONFIRMS = (
    ("lights or sockets", "water_electrics"),
    ("in danger", "danger_to_life"),
    ("only toilet", "only_toilet"),
    ("stuck in the lift", "lift"),
    ("elderly, disabled", "no_heating_vulnerable"),
    ("medical equipment", "no_power"),
)
# When the case becomes an emergency, the urgent first answer replaces the slower one.
_FASTER = {
    "handoff-3": "handoff-urgent-1",
    "asb-routine-5": "asb-urgent-1",
    "email-3": "email-urgent-1",
}


def verdict(turn: Turn) -> Verdict:
    """Yes, no or unclear: the answer's words first, then the classifier's view of it."""
    found = turn.classification
    if found is not None and found.urgency == "emergency":
        return "yes"  # "no, but now it is sparking": the answer itself is an emergency
    text = " ".join(turn.message.body.casefold().replace("\u2019", "'").split())
    if not text or _UNSURE.search(text):
        return "unclear"
    first = _WORD.findall(text)[:1]
    if first and first[0] in _YES:
        return "yes"
    if first and first[0] in _NO:
        return "no"
    if found is not None and found.intent in ("affirm", "deny"):
        return "yes" if found.intent == "affirm" else "no"
    return "unclear"


class AskWhenUnsure:
    """Wraps an engine; see the module docstring."""

    def __init__(self, inner: ConversationEngine) -> None:
        self.inner = inner

    def respond(self, turn: Turn) -> list[Reply]:
        interaction_id = turn.interaction_id
        if interaction_id is None or turn.message.channel not in ASKED_ON:
            return self.inner.respond(turn)
        conversation = turn.conversation
        if not turn.is_new:
            question = conversation.pending_question(interaction_id)
            if question is None:
                return self.inner.respond(turn)
            if wants_person(turn.message.body, turn.classification):
                conversation.answered(interaction_id, turn.message.body, "skipped")
                return self.inner.respond(turn)
            return self._triage(turn, interaction_id, question)
        replies = self.inner.respond(turn)
        found = turn.classification
        # Rasa's own forms ask their triage questions ("is anyone at risk?"); a second one
        # from us would take the answer meant for Rasa. We ask when we answered ourselves.
        ours = bool(replies) and all(r.engine == "built-in" for r in replies)
        if ours and found is not None and found.ask and found.urgency != "emergency":
            conversation.asked(interaction_id, found.ask)
            replies = [*replies, self._question(turn, found.ask)]
        return replies

    def _question(self, turn: Turn, question: str) -> Reply:
        channel = turn.message.channel
        # bot.nlu words the question in English; the Welsh template puts it into Welsh.
        voice = voice_for_turn(turn)
        return Reply(
            turn.conversation.composer.render(
                "safety_question.txt.j2", channel=channel.value, voice=voice, question=question
            ),
            kind="question",
            buttons=answer_buttons(voice) if channel is Channel.WEBCHAT else (),
            template="safety_question.txt.j2",
            urgent=True,  # the answer may be an emergency: never held for quiet hours
        )

    def _triage(self, turn: Turn, interaction_id: int, question: str) -> list[Reply]:
        conversation = turn.conversation
        said = verdict(turn)
        conversation.answered(interaction_id, turn.message.body, said)
        case = conversation.interactions.get(interaction_id)
        hazards: tuple[str, ...] = ()
        if said == "yes":
            hazards = confirmed_hazards(question, turn)
            raise_to_emergency(turn, case, hazards)
            conversation.interactions.save(case)
        found = turn.classification
        signposts = tuple(h.signpost for h in found.hazards) if found is not None else ()
        reply = Reply(
            conversation.composer.render(
                "safety_answer.txt.j2",
                channel=turn.message.channel.value,
                voice=voice_for_turn(turn),
                verdict=said,
                advice=what_to_do_now(hazards, signposts),
                reference=case.reference,
                owner_name=conversation.owner_name(case),
                deadline=_deadline_words(turn, case),
            ),
            kind="safety",
            template="safety_answer.txt.j2",
            urgent=said != "no",
        )
        if said == "unclear":
            return [reply, *self.inner.respond(turn)]
        return [reply]


def confirmed_hazards(question: str, turn: Turn) -> tuple[str, ...]:
    implied = [rule for words, rule in _CONFIRMS if words in question.casefold()]
    found = turn.classification
    said = [h.rule for h in found.hazards] if found is not None else []
    return tuple(dict.fromkeys([*implied, *said]))


def raise_to_emergency(turn: Turn, case: Interaction, hazards: tuple[str, ...]) -> None:
    """The resident confirmed an emergency: the aggregate records `reclassified`, and the
    promises the emergency plan adds start now (the moment we learnt it)."""
    rules = turn.conversation.rules
    if case.urgency != Urgency.EMERGENCY:
        case.reclassify(
            topic=case.topic,
            urgency=Urgency.EMERGENCY.value,
            intent=None,
            team=None,
            by="resident",
            at=turn.now,
        )
    topic = Topic(case.topic)
    plan = plan_for(
        Channel(case.channel), topic, Urgency.EMERGENCY, intent=case.intent, hazards=hazards
    )
    if plan.complaint:
        return  # a complaint's stages are the complaint workflow's
    running = {c.policy for c in case.open_clocks()}
    for policy in plan.respond:
        if policy not in running:
            case.start_clock(rules, policy, turn.now)
    for slow, fast in _FASTER.items():
        if slow in running and fast in plan.respond:
            reason = "superseded: the resident confirmed an emergency"
            case.settle(slow, Settlement(SUPERSEDED, reason), turn.now)


def _deadline_words(turn: Turn, case: Interaction) -> str:
    return deadline_in_words(reply_deadline(turn, case), now=turn.now)
