"""The one caller of the conversation engine: a pipeline turn in, outbox rows out.

`TurnRunner` is the only `channels.base.TurnHandler` there is. For each message the
pipeline stored and threaded on a conversational channel it

1. gives the channel's own words their chance first (`KeywordStep`: SMS HELP, START, the
   answers to our appointment texts; a public social comment), so no engine ever takes
   "YES" for small talk;
2. otherwise asks the engine (`ConversationEngine.respond`: built-in, or Rasa with the
   built-in one as its fall-back, behind the safety question);
3. writes every `Reply` through `bot.service.outbound.enqueue_reply`, so the channel's
   rules apply on every path (SMS: GSM-7, segments, quiet hours; web chat: buttons).

`SqlConversation` is the engine's port (`bot.conversation.engine.Conversation`) inside the
message's transaction.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Protocol

import sqlalchemy as sa

from actions.acknowledge import Composer
from actions.handoff import offer_person, person_name
from actions.wording import team_in_words
from bot.conversation.engine import ConversationEngine, PersonOffer, Reply, Turn
from bot.conversation.rasa import conversation_id
from bot.domain.interaction import ClockRules, Interaction
from bot.domain.model import InboundMessage, OutboundMessage
from bot.domain.repository import Interactions
from bot.service.live import Route
from bot.service.outbound import enqueue_reply
from bot.settings import Settings
from bot.storage import tables as t
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import idempotency_key

if TYPE_CHECKING:
    from bot.service.pipeline import Turn as PipelineTurn

HANDOFF_EVENT = "handoff_requested"
ASKED_EVENT = "safety_question_asked"
ANSWERED_EVENT = "safety_question_answered"
# How long past the Rasa timeout a held acknowledgement waits before it goes anyway.
HOLD_MARGIN_SECONDS = 30.0


class KeywordStep(Protocol):
    def __call__(self, turn: PipelineTurn, conversation: SqlConversation) -> list[Reply] | None:
        """The replies to a channel keyword (possibly none: handled quietly), or None when
        the message is not one of the channel's words and goes to the engine."""
        ...


class SqlConversation:
    """The engine's port over one pipeline turn (its unit of work and services)."""

    def __init__(self, turn: PipelineTurn) -> None:
        self._turn = turn
        self._interactions = SqlInteractions(turn.uow)
        self.held_id: int | None = None

    @property
    def settings(self) -> Settings:
        return self._turn.pipeline.settings

    @property
    def composer(self) -> Composer:
        return self._turn.pipeline.composer

    @property
    def rules(self) -> ClockRules:
        return self._turn.pipeline.clocks

    @property
    def interactions(self) -> Interactions:
        return self._interactions

    def owner_name(self, interaction: Interaction) -> str:
        if interaction.owner:
            found = person_name(self._turn.uow.conn, interaction.owner)
            if found:
                return found
        try:
            return team_in_words(str(self.settings.team(interaction.team).name))
        except KeyError:
            return str(self.settings.organisation.name)

    def _kinds(self, interaction_id: int, *kinds: str) -> list[sa.Row[tuple[str, object]]]:
        e = t.events.c
        query = (
            sa.select(e.kind, e.detail)
            .where(e.interaction_id == interaction_id, e.kind.in_(kinds))
            .order_by(e.id)
        )
        return list(self._turn.uow.conn.execute(query).all())

    def handoff_requested(self, interaction_id: int) -> bool:
        return bool(self._kinds(interaction_id, HANDOFF_EVENT))

    def offer_person(self, interaction_id: int) -> PersonOffer:
        # The request's event id marks it answered, so the live-chat worker (the safety net
        # for requests no engine answered) does not queue it a second time.
        e = t.events.c
        event_id = self._turn.uow.conn.execute(
            sa.select(sa.func.max(e.id)).where(
                e.interaction_id == interaction_id, e.kind == HANDOFF_EVENT
            )
        ).scalar_one_or_none()
        decision = offer_person(
            self._turn.uow,
            self._turn.pipeline,
            interaction_id,
            session_id=self._turn.message.sender,
            now=self._turn.pipeline.now(),
            event_id=None if event_id is None else int(event_id),
            tell=False,
        )
        return PersonOffer(live=decision.route is Route.LIVE, notice=decision.notice)

    def pending_question(self, interaction_id: int) -> str | None:
        rows = self._kinds(interaction_id, ASKED_EVENT, ANSWERED_EVENT)
        if not rows or rows[-1].kind != ASKED_EVENT:
            return None
        detail = rows[-1].detail
        return str(detail.get("question", "")) if isinstance(detail, dict) else None

    def asked(self, interaction_id: int, question: str) -> None:
        self.note(interaction_id, ASKED_EVENT, {"question": question})

    def answered(self, interaction_id: int, answer: str, verdict: str) -> None:
        self.note(interaction_id, ANSWERED_EVENT, {"answer": answer[:500], "verdict": verdict})

    def note(self, interaction_id: int | None, kind: str, detail: Mapping[str, object]) -> None:
        self._turn.uow.add_event(interaction_id, kind, dict(detail))

    def checkpoint(self) -> None:
        ack = self._turn.acknowledgement
        if ack is not None and self.held_id is None:
            hold = timedelta(seconds=self.settings.rasa.timeout_seconds + HOLD_MARGIN_SECONDS)
            held = dataclasses.replace(ack, not_before=self._turn.pipeline.now() + hold)
            self.held_id = self._turn.uow.enqueue(held)
        self._turn.uow.commit()

    def settle_held(self, answered: bool) -> None:
        """The held acknowledgement: withdrawn when the turn was answered, else sent now."""
        if self.held_id is None:
            return
        c = t.outbox.c
        values = (
            {"status": "withdrawn", "last_error": "answered by the assistant"}
            if answered
            else {"next_attempt_at": self._turn.pipeline.now()}
        )
        self._turn.uow.conn.execute(
            t.outbox.update().where(c.id == self.held_id, c.status == "pending").values(**values)
        )


class TurnRunner:
    """Keywords first, then the engine; every reply through the outbox (see above)."""

    def __init__(
        self, engine: ConversationEngine | None, keywords: KeywordStep | None = None
    ) -> None:
        self.engine = engine
        self.keywords = keywords

    def __call__(self, turn: PipelineTurn) -> bool:
        """True when the turn was answered (then the pipeline sends no acknowledgement)."""
        if self.answer_keywords(turn):
            return True
        if self.engine is None:
            return False
        conversation = SqlConversation(turn)
        replies = self.engine.respond(engine_turn(turn, conversation))
        write_replies(turn, replies, held=conversation.held_id is not None)
        conversation.settle_held(answered=bool(replies))
        return bool(replies)

    def answer_keywords(self, turn: PipelineTurn) -> bool:
        """The channel's own words alone: True when the message was one of them."""
        if self.keywords is None:
            return False
        replies = self.keywords(turn, SqlConversation(turn))
        if replies is None:
            return False
        write_replies(turn, replies, held=False)
        return True


def engine_turn(turn: PipelineTurn, conversation: SqlConversation) -> Turn:
    return Turn(
        message=turn.message,
        interaction_id=turn.outcome.interaction_id,
        reference=turn.outcome.reference,
        classification=turn.classification,
        acknowledgement=turn.acknowledgement,
        now=turn.pipeline.now(),
        conversation=conversation,
    )


def write_replies(turn: PipelineTurn, replies: Sequence[Reply], *, held: bool) -> None:
    now = turn.pipeline.now()  # the app's clock: quiet hours are judged by it
    for index, reply in enumerate(replies):
        message = outbound(
            reply,
            index,
            message=turn.message,
            acknowledgement=turn.acknowledgement,
            interaction_id=turn.outcome.interaction_id,
            held=held,
        )
        enqueue_reply(turn.uow, turn.pipeline.settings, message, now, urgent=reply.urgent)


def outbound(
    reply: Reply,
    index: int,
    *,
    message: InboundMessage,
    acknowledgement: OutboundMessage | None,
    interaction_id: int | None,
    held: bool = False,
) -> OutboundMessage:
    """A `Reply` as the outbox row it becomes (pure). An acknowledging reply is the
    acknowledgement itself (its clock, subject, sender), under the acknowledgement's key
    unless a copy of it is held in the outbox (then under a key of its own)."""
    meta: dict[str, str] = dict(reply.meta)
    if reply.buttons:
        buttons = [{"title": b.title, "payload": b.payload} for b in reply.buttons]
        meta["buttons"] = json.dumps(buttons)
    if reply.engine != "built-in":
        meta["engine"] = reply.engine
        meta["conversation_id"] = conversation_id(message)
    if reply.template is not None:
        meta["template"] = reply.template
    ack = acknowledgement
    channel = message.channel.value
    key = reply.key or idempotency_key("turn", channel, message.external_id, reply.kind, index)
    if reply.redirect is not None:
        to = reply.redirect
        if reply.acknowledges and ack is not None and "clock" in ack.meta:
            meta.setdefault("clock", ack.meta["clock"])  # it is the acknowledgement, elsewhere
        return OutboundMessage(
            channel=to.channel,
            recipient=to.recipient,
            body=reply.text,
            idempotency_key=key,
            subject=to.subject,
            sender=to.sender,
            interaction_id=interaction_id,
            kind=reply.kind,
            meta=meta,
        )
    if reply.acknowledges and ack is not None:
        own = f"{ack.idempotency_key}:answer" if held else ack.idempotency_key
        return dataclasses.replace(
            ack,
            body=reply.text,
            idempotency_key=reply.key or own,
            kind=ack.kind if reply.kind == "acknowledgement" else reply.kind,
            meta={**ack.meta, **meta},
        )
    return OutboundMessage(
        channel=message.channel,
        recipient=message.sender,
        body=reply.text,
        idempotency_key=key,
        sender=ack.sender if ack is not None else None,
        interaction_id=interaction_id,
        kind=reply.kind,
        meta=meta,
    )
