"""HANDOFF: asking for a person gets one honest answer, in the web chat and by text.

`PersonNow` wraps the built-in engine (alone, or as Rasa's fall-back). Asking is the web
chat's button or the classifier's `ask_human` intent, never a list of words.

- Web chat: straight after the engine's hand-off request (`Interaction.request_handoff`),
  the live queue is asked (`Conversation.offer_person`, bot.service.live). Queued, the
  hand-off words become where the resident is in the queue: one message, not the hand-off
  reply followed by "You are next in the queue". Nobody free, or the office closed: the
  hand-off reply stands (the number to call now in office hours, when the team will reply,
  the emergency line out of hours). The live-chat worker stays the safety net: it answers
  any request no engine answered (Rasa's own hand-off) and times out a chat nobody takes.
- By text: the hand-off request is recorded through the aggregate (the team's hand-off
  clock, or the earlier reply promise already running), and the resident is told who has
  it and when they will reply; in office hours the number to call now, out of hours when
  we open and the emergency line (`person_asked.sms.txt.j2`).
"""

from __future__ import annotations

from actions.acknowledge import without_repeats
from actions.handoff import handoff_policy
from actions.wording import deadline_in_words
from bot.conversation.engine import ConversationEngine, Reply, Turn, wants_person
from bot.domain.model import Channel

SMS_TEMPLATE = "person_asked.txt.j2"
QUEUED_TEMPLATE = "live_queued.txt.j2"


class PersonNow:
    """Wraps an engine; see the module docstring."""

    def __init__(self, inner: ConversationEngine) -> None:
        self.inner = inner

    def respond(self, turn: Turn) -> list[Reply]:
        interaction_id = turn.interaction_id
        if interaction_id is None or not wants_person(turn.message.body, turn.classification):
            return self.inner.respond(turn)
        if turn.message.channel is Channel.SMS:
            return [self._by_text(turn, interaction_id)]
        if turn.message.channel is not Channel.WEBCHAT:
            return self.inner.respond(turn)
        conversation = turn.conversation
        asked_before = conversation.handoff_requested(interaction_id)
        replies = self.inner.respond(turn)
        ours = bool(replies) and all(r.engine == "built-in" for r in replies)
        if asked_before or not ours or not conversation.handoff_requested(interaction_id):
            return replies  # asked before: the chat is where it was; Rasa: the worker asks
        offer = conversation.offer_person(interaction_id)
        if not offer.live:
            return replies  # the hand-off reply: the phone now and the team's deadline
        return [_queued(turn, reply, offer.notice) for reply in replies]

    def _by_text(self, turn: Turn, interaction_id: int) -> Reply:
        conversation = turn.conversation
        case = conversation.interactions.get(interaction_id)
        already = conversation.handoff_requested(interaction_id)
        due_at = case.request_handoff(
            conversation.rules,
            policy=handoff_policy(case.urgency),
            reason="resident asked for a person by text",
            by="resident",
            at=turn.now,
            detail={"channel": "sms", "office_open": turn.office_open},
            already=already,
        )
        conversation.interactions.save(case)
        text = conversation.composer.render(
            SMS_TEMPLATE,
            channel="sms",
            reference=case.reference,
            owner_name=conversation.owner_name(case),
            deadline=deadline_in_words(due_at, now=turn.now),
            office_open=turn.office_open,
            already=already,
            emergency_phone=conversation.settings.organisation.emergency_phone,
        )
        ack = turn.acknowledgement
        if ack is not None and turn.pressing:
            # A new enquiry that sounds urgent keeps the acknowledgement's signposts first.
            text = without_repeats(ack.body, text)
        return Reply(
            text,
            kind="acknowledgement" if ack is not None else "handoff",
            template=SMS_TEMPLATE,
            acknowledges=ack is not None,  # it gives the reference and deadline: ACK-2 kept
            urgent=turn.pressing,
        )


def _queued(turn: Turn, reply: Reply, notice: str) -> Reply:
    """The hand-off words of `reply` replaced by where the resident is in the live queue."""
    ack = turn.acknowledgement
    if reply.acknowledges and ack is not None:
        # The first message asked for a person: the acknowledgement, then the queue.
        return Reply(
            without_repeats(ack.body, notice),
            kind=reply.kind,
            template=reply.template,
            acknowledges=True,
            urgent=reply.urgent,
        )
    if reply.kind == "handoff":
        return Reply(notice, kind="handoff", template=QUEUED_TEMPLATE, urgent=reply.urgent)
    return reply
