"""In-memory fakes for the conversation engine's unit tier: the `Conversation` port over
`InMemoryInteractions`, and a collecting outbox that turns replies into the rows the real
caller would write (bot.conversation.turns.outbound)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from actions.acknowledge import Composer
from actions.wording import team_in_words
from bot.conversation.engine import ConversationEngine, PersonOffer, Reply, Turn
from bot.conversation.turns import outbound
from bot.domain import events as ev
from bot.domain.interaction import ClockRules, Interaction
from bot.domain.model import Channel, InboundMessage, OutboundMessage
from bot.domain.promises import plan_for
from bot.domain.repository import InMemoryInteractions
from bot.nlu.types import Classification
from bot.service.clocks import ClockService
from bot.settings import Settings, Team
from sla import LONDON, PRESETS, Calendar

MONDAY_10 = datetime(2026, 6, 1, 10, tzinfo=LONDON)  # office open
MONDAY_21 = datetime(2026, 6, 1, 21, tzinfo=LONDON)  # office closed
RULES = ClockService(dict(PRESETS), Calendar())


def settings() -> Settings:
    return Settings(
        teams=[Team(id="repairs", name="Repairs team"), Team(id="general", name="Housing team")],
        routing={"repair": "repairs", "general": "general"},
    )


@dataclass
class FakeConversation:
    """The engine's port with no database: what a turn changes stays in memory."""

    settings: Settings = field(default_factory=settings)
    interactions: InMemoryInteractions = field(default_factory=InMemoryInteractions)
    rules: ClockRules = RULES
    questions: dict[int, str] = field(default_factory=dict)
    answers: list[tuple[int, str, str]] = field(default_factory=list)
    notes: list[tuple[int | None, str, dict[str, object]]] = field(default_factory=list)
    checkpoints: int = 0
    # What the live queue answers when the engine offers a person (the web chat), and who asked.
    person: PersonOffer = field(default_factory=lambda: PersonOffer(live=False))
    offered: list[int] = field(default_factory=list)

    @property
    def composer(self) -> Composer:
        return Composer(self.settings.organisation)

    def owner_name(self, interaction: Interaction) -> str:
        return team_in_words(self.settings.team(interaction.team).name)

    def handoff_requested(self, interaction_id: int) -> bool:
        return any(
            i == interaction_id and isinstance(e, ev.HandoffRequested)
            for i, e in self.interactions.log
        )

    def offer_person(self, interaction_id: int) -> PersonOffer:
        self.offered.append(interaction_id)
        return self.person

    def pending_question(self, interaction_id: int) -> str | None:
        return self.questions.get(interaction_id)

    def asked(self, interaction_id: int, question: str) -> None:
        self.questions[interaction_id] = question

    def answered(self, interaction_id: int, answer: str, verdict: str) -> None:
        self.questions.pop(interaction_id, None)
        self.answers.append((interaction_id, answer, verdict))

    def note(self, interaction_id: int | None, kind: str, detail: Mapping[str, object]) -> None:
        self.notes.append((interaction_id, kind, dict(detail)))

    def checkpoint(self) -> None:
        self.checkpoints += 1


@dataclass
class CollectingOutbox:
    """What the caller would write to the outbox for each turn, in order."""

    rows: list[OutboundMessage] = field(default_factory=list)

    def write(self, turn: Turn, replies: list[Reply]) -> list[OutboundMessage]:
        written = [
            outbound(
                reply,
                index,
                message=turn.message,
                acknowledgement=turn.acknowledgement,
                interaction_id=turn.interaction_id,
            )
            for index, reply in enumerate(replies)
        ]
        self.rows.extend(written)
        return written


def classified(
    topic: str = "repair",
    urgency: str = "routine",
    intent: str = "report_repair",
    *,
    hazards: tuple[tuple[str, str], ...] = (),
    ask: str | None = None,
) -> Classification:
    from bot.nlu.types import HazardMatch

    return Classification(
        topic=topic,
        urgency=urgency,
        intent=intent,
        hazards=tuple(HazardMatch(rule, rule, signpost) for rule, signpost in hazards),
        ask=ask,
    )


class Chat:
    """One resident talking to an engine on one channel, over one in-memory interaction."""

    def __init__(
        self,
        engine: ConversationEngine,
        channel: Channel = Channel.SMS,
        *,
        now: datetime = MONDAY_10,
    ) -> None:
        self.engine = engine
        self.channel = channel
        self.now = now
        self.conversation = FakeConversation()
        self.outbox = CollectingOutbox()
        self.count = 0
        self.reference: str | None = None

    def open(self, topic: str, urgency: str, hazards: tuple[str, ...] = ()) -> Interaction:
        case = Interaction(
            id=1, reference="DS-2026-000001", channel=self.channel.value, topic=topic,
            urgency=urgency, team="repairs", owner=None,
        )  # fmt: skip
        from bot.domain.model import Topic, Urgency

        plan = plan_for(self.channel, Topic(topic), Urgency(urgency), hazards=hazards)
        for policy in (plan.acknowledge, *plan.respond):
            case.start_clock(RULES, policy, self.now)
        self.conversation.interactions.save(case)
        self.reference = case.reference
        return case

    def case(self) -> Interaction:
        return self.conversation.interactions.get(1)

    def say(self, text: str, found: Classification | None) -> list[OutboundMessage]:
        self.count += 1
        new = self.count == 1
        if new:
            self.open(
                found.topic if found else "general",
                found.urgency if found else "routine",
                tuple(h.rule for h in found.hazards) if found else (),
            )
        message = InboundMessage(
            channel=self.channel,
            external_id=f"m{self.count}",
            sender="+447700900123" if self.channel is Channel.SMS else "sess-1",
            received_at=self.now,
            body=text,
            thread_refs=("conv-1",) if self.channel is Channel.WEBCHAT else (),
            meta={"conversation_id": "conv-1"} if self.channel is Channel.WEBCHAT else {},
        )
        ack = (
            OutboundMessage(
                channel=self.channel,
                recipient=message.sender,
                body=f"Thank you. Your reference is {self.reference}. "
                "The Repairs team will reply by 5pm on Wednesday 3 June.",
                idempotency_key=f"ack:{self.channel.value}:m1",
                interaction_id=1,
                kind="acknowledgement",
                meta={"clock": "ack-2"},
            )
            if new
            else None
        )
        turn = Turn(
            message=message,
            interaction_id=1,
            reference=self.reference,
            classification=found,
            acknowledgement=ack,
            now=self.now,
            conversation=self.conversation,
        )
        return self.outbox.write(turn, self.engine.respond(turn))
