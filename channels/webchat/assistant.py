"""The built-in chat assistant: answers each chat message itself when Rasa is not configured.

It runs as the web chat's turn handler inside the pipeline's transaction, after the message
has been stored, classified, routed and (for a first message) given an interaction with its
SLA clocks. Every reply goes through the outbox (`turn.uow.enqueue`), never to the socket.

- First message: the acknowledgement with the reference, who deals with it and the
  deadline in words (ACK-2, SAME-CHANNEL), the signposts that fit (EMERGENCY: the 24-hour
  repairs line, 999 for danger, 0800 111 999 for gas), and then either an offer to hand over
  to a person (office open) or, out of hours, when someone will reply and the emergency
  route (HOURS, EMERGENCY). One message, so the chat stays short.
- Asking for a person (HANDOFF): the interaction is marked as waiting for an agent (event
  `handoff_requested` with its team, the team's hand-off clock running) and the resident is
  told who owns it and by when they will reply.
- Follow-ups: an answer from the landlord's published details when it is a question we can
  answer (AUTO-ACK), the signposts when it sounds urgent, and always the reference and
  deadline (CONTACT).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from actions.acknowledge import AckContext, without_repeats
from actions.wording import deadline_in_words, team_in_words
from bot.domain.model import InboundMessage, OutboundMessage
from bot.nlu.types import Classification
from bot.storage import tables as t
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork, idempotency_key

if TYPE_CHECKING:
    from bot.service.pipeline import Pipeline, Turn
    from bot.settings import Settings

HANDOFF_EVENT = "handoff_requested"
PERSON_PAYLOAD = "I would like to talk to a person"
PERSON_BUTTON = {"title": "Talk to a person", "payload": PERSON_PAYLOAD}
# The classifier's intent for "can I talk to a person?" (nlu_data: ask_human).
HANDOFF_INTENT = "ask_human"
# Clocks that are about acknowledging, not answering: not the deadline we tell the resident.
_ACK_POLICIES = ("ack-2", "email-ack-now", "complaint-procedure-1")


def wants_person(text: str, classification: Classification | None) -> bool:
    """HANDOFF from the button (its payload) or the classifier's intent, never from a list
    of words: "Someone has smashed the window of my front door" is a repair."""
    if text.strip().casefold() == PERSON_PAYLOAD.casefold():
        return True
    return classification is not None and classification.intent == HANDOFF_INTENT


@dataclasses.dataclass(frozen=True, slots=True)
class Handoff:
    interaction_id: int
    team_name: str
    due_at: datetime
    already: bool


class ChatAssistant:
    """A channel `TurnHandler`; returns True because it always answers itself."""

    def __call__(self, turn: Turn) -> bool:
        interaction_id = turn.outcome.interaction_id
        if interaction_id is None:
            return False  # no case to answer about: the pipeline's own reply stands
        if turn.acknowledgement is not None:
            self._first(turn, turn.acknowledgement, interaction_id)
        else:
            self._follow_up(turn, interaction_id)
        return True

    # ---- the first message: acknowledgement + offer or out-of-hours route -----------------

    def _first(self, turn: Turn, ack: OutboundMessage, interaction_id: int) -> None:
        pipeline = turn.pipeline
        now: datetime = pipeline.now()
        open_now = bool(pipeline.clocks.calendar.is_open(now))
        extra: list[str] = []
        buttons: list[dict[str, str]] = []
        if wants_person(turn.message.body, turn.classification):
            handoff = request_handoff(turn.uow, pipeline, interaction_id, turn.message, now)
            extra.append(self._handoff_text(turn, handoff, open_now, now))
        elif open_now:
            extra.append(pipeline.composer.render("chat_offer.txt.j2", channel="webchat"))
            buttons.append(PERSON_BUTTON)
        else:
            extra.append(self._closed_text(turn, ack.body, now))
        body = without_repeats(ack.body, *extra)  # no line said twice
        meta = dict(ack.meta)
        if buttons:
            meta["buttons"] = json.dumps(buttons)
        # The acknowledgement itself, with its idempotency key and ACK-2 clock, only longer.
        turn.uow.enqueue(dataclasses.replace(ack, body=body, meta=meta))

    # ---- later messages ------------------------------------------------------------------

    def _follow_up(self, turn: Turn, interaction_id: int) -> None:
        pipeline = turn.pipeline
        now: datetime = pipeline.now()
        open_now = bool(pipeline.clocks.calendar.is_open(now))
        text: str = turn.message.body
        buttons: list[dict[str, str]] = []
        if wants_person(text, turn.classification):
            handoff = request_handoff(turn.uow, pipeline, interaction_id, turn.message, now)
            body = self._handoff_text(turn, handoff, open_now, now)
        else:
            body = self._answer(turn, interaction_id, now, open_now)
            if open_now and not handoff_requested(turn.uow, interaction_id):
                buttons.append(PERSON_BUTTON)
        meta = {"buttons": json.dumps(buttons)} if buttons else {}
        turn.uow.enqueue(
            OutboundMessage(
                channel=turn.message.channel,
                recipient=turn.message.sender,
                body=body,
                idempotency_key=idempotency_key(
                    "chat", turn.message.channel.value, turn.message.external_id
                ),
                interaction_id=interaction_id,
                kind="reply",
                meta=meta,
            )
        )

    def _answer(self, turn: Turn, interaction_id: int, now: datetime, open_now: bool) -> str:
        from bot.conversation.service import landlord_answer

        pipeline = turn.pipeline
        org = pipeline.settings.organisation
        row = turn.uow.get_interaction(interaction_id)
        classification = turn.classification
        topic = classification.topic if classification is not None else "general"
        urgency = classification.urgency if classification is not None else "routine"
        hazards = classification.hazards if classification is not None else ()
        signposts = pipeline.composer.signposts(
            AckContext(
                reference=row.reference,
                topic=topic,
                urgency=urgency,
                owner_name="",
                deadline=now,
                now=now,
                hazard_signposts=tuple(sorted({h.signpost for h in hazards})),
                hazards=tuple(h.rule for h in hazards),
                office_open=open_now,
            )
        )
        answer = None
        if topic == "general" and not signposts:
            answer = landlord_answer(org, turn.message.body)
        due = reply_deadline(turn.uow, pipeline, row.id, now)
        return str(
            pipeline.composer.render(
                "chat_follow_up.txt.j2",
                channel="webchat",
                reference=row.reference,
                owner_name=owner_name(turn.uow, pipeline.settings, row.team, row.owner),
                deadline=deadline_in_words(due, now=now),
                answer=answer,
                signposts=signposts,
            )
        )

    def _handoff_text(self, turn: Turn, handoff: Handoff, open_now: bool, now: datetime) -> str:
        org = turn.pipeline.settings.organisation
        row = turn.uow.get_interaction(handoff.interaction_id)
        return str(
            turn.pipeline.composer.render(
                "chat_handoff.txt.j2",
                channel="webchat",
                reference=row.reference,
                owner_name=handoff.team_name,
                deadline=deadline_in_words(handoff.due_at, now=now),
                office_open=open_now,
                already=handoff.already,
                emergency_phone=org.emergency_phone,
            )
        )

    def _closed_text(self, turn: Turn, ack_body: str, now: datetime) -> str:
        org = turn.pipeline.settings.organisation
        return str(
            turn.pipeline.composer.render(
                "chat_closed.txt.j2",
                channel="webchat",
                emergency_phone=org.emergency_phone,
                # The acknowledgement's signposts may already give the emergency line.
                emergency_given=org.emergency_phone in ack_body,
            )
        )


# ---- HANDOFF ---------------------------------------------------------------------------


def handoff_requested(uow: UnitOfWork, interaction_id: int) -> bool:
    c = t.events.c
    found = uow.conn.execute(
        sa.select(c.id).where(c.interaction_id == interaction_id, c.kind == HANDOFF_EVENT).limit(1)
    ).first()
    return found is not None


def request_handoff(
    uow: UnitOfWork, pipeline: Pipeline, interaction_id: int, message: InboundMessage, now: datetime
) -> Handoff:
    """HANDOFF: the interaction waits for a person in its team. The team's hand-off clock
    (`handoff-3`, or `handoff-urgent-1` when urgent) is started unless it already runs (a
    chat enquiry starts it when it is opened), and the event tells the dashboard."""
    from actions.handoff import handoff_policy

    interactions = SqlInteractions(uow)
    row = interactions.get(interaction_id)
    already = handoff_requested(uow, interaction_id)
    due_at = row.request_handoff(
        pipeline.clocks,
        policy=handoff_policy(row.urgency),
        reason="resident asked for a person in the web chat",
        by="resident",
        at=now,
        detail={
            "conversation_id": message.meta.get("conversation_id") or message.sender,
            "office_open": bool(pipeline.clocks.calendar.is_open(now)),
        },
        already=already,
    )
    interactions.save(row)
    name = owner_name(uow, pipeline.settings, row.team, row.owner)
    return Handoff(interaction_id=interaction_id, team_name=name, due_at=due_at, already=already)


def owner_name(uow: UnitOfWork, settings: Settings, team: str, owner: str | None) -> str:
    """HANDOFF: who owns it, as the resident should hear it."""
    if owner:
        from actions.handoff import person_name

        found = person_name(uow.conn, owner)
        if found:
            return found
    try:
        return team_in_words(str(settings.team(team).name))
    except KeyError:
        return str(settings.organisation.name)


def reply_deadline(
    uow: UnitOfWork, pipeline: Pipeline, interaction_id: int, now: datetime
) -> datetime:
    """The earliest open promise to answer (not merely to acknowledge)."""
    running: list[Any] = [
        s.clock
        for s in pipeline.clocks.open_clocks(uow.conn, interaction_id)
        if s.clock.policy not in _ACK_POLICIES
    ]
    if running:
        earliest: datetime = min(c.due_at for c in running)
        return earliest
    deadline: datetime = pipeline.clocks.deadline("respond-10", now)
    return deadline
