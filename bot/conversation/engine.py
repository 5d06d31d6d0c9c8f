"""The conversation engine's contract: a `Turn` in, a list of `Reply` out.

Every conversational channel (web chat, SMS, social direct messages) is answered by one
`ConversationEngine`: the built-in one (bot.conversation.builtin), or Rasa with the built-in
one as its fall-back (bot.conversation.rasa), both behind the safety question
(bot.conversation.unsure). An engine decides *what to say*; it never writes to the outbox.
The one caller (bot.conversation.turns) turns each `Reply` into outbox rows through
`bot.service.outbound.enqueue_reply`, so every channel's rules apply on every path (SMS:
GSM-7, segments, quiet hours, opt-out; web chat: buttons).

What an engine may read or change during a turn comes through `Conversation`, a small port:
the interaction repository (changes go through the aggregate), the composer (every word from
templates), the clock rules, and what the conversation remembers. Production passes the SQL
implementation inside the message's transaction; the unit tier an in-memory one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from actions.acknowledge import Composer
from bot.domain.interaction import ClockRules, Interaction
from bot.domain.model import Channel, InboundMessage, OutboundMessage
from bot.domain.repository import Interactions
from bot.nlu.types import Classification
from bot.settings import Settings

# HANDOFF: the web chat's "Talk to a person" button sends this text; the classifier's
# intent for "can I talk to a person?" is `ask_human` (nlu_data). Never a list of words.
PERSON_PAYLOAD = "I would like to talk to a person"
HANDOFF_INTENT = "ask_human"
PRESSING = ("emergency", "urgent")


@dataclass(frozen=True, slots=True)
class Button:
    title: str
    payload: str


PERSON_BUTTON = Button("Talk to a person", PERSON_PAYLOAD)


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to the resident, on the channel they used (SAME-CHANNEL).

    `acknowledges`: this reply is the acknowledgement of a new enquiry; it carries the
    acknowledgement's clock (ACK-2), which sending it stops. `urgent`: goes at once, even
    in SMS quiet hours (EMERGENCY). `template` names the template the words came from
    (for tests and the event log); `engine` which engine said it.

    A channel step's reply may also carry `key`, the idempotency key naming the change it
    reports (an appointment answered, a comment replied to: sent exactly once), `meta` for
    the channel's sender (the comment a public reply answers), and `redirect`, another
    channel to send it on (the number opted out of texts, the resident still needs to know).
    """

    text: str
    kind: str = "reply"
    buttons: tuple[Button, ...] = ()
    template: str | None = None
    acknowledges: bool = False
    urgent: bool = False
    engine: str = "built-in"
    key: str | None = None
    meta: Mapping[str, str] = field(default_factory=dict)
    redirect: Redirect | None = None


@dataclass(frozen=True, slots=True)
class Redirect:
    """Send a reply on another channel and address than the message came from."""

    channel: Channel
    recipient: str
    subject: str | None = None
    sender: str | None = None


@dataclass(frozen=True, slots=True)
class PersonOffer:
    """HANDOFF in the web chat: what asking for a person led to. `live`: the chat waits in
    the live queue and `notice` says where the resident is in it; otherwise the phone and
    the deadline (the hand-off reply) are the answer."""

    live: bool
    notice: str = ""


class Conversation(Protocol):
    """What an engine may use during one turn (the port; see the module docstring)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def composer(self) -> Composer: ...

    @property
    def rules(self) -> ClockRules: ...

    @property
    def interactions(self) -> Interactions: ...

    def owner_name(self, interaction: Interaction) -> str:
        """HANDOFF: who owns it, as the resident should hear it."""
        ...

    def handoff_requested(self, interaction_id: int) -> bool: ...

    def offer_person(self, interaction_id: int) -> PersonOffer:
        """Straight after a web chat hand-off request: a person now (the live queue) when
        someone in the team is available in office hours, else the phone and a deadline."""
        ...

    def pending_question(self, interaction_id: int) -> str | None:
        """The safety question asked in this interaction and not answered yet."""
        ...

    def asked(self, interaction_id: int, question: str) -> None: ...

    def answered(self, interaction_id: int, answer: str, verdict: str) -> None: ...

    def note(self, interaction_id: int | None, kind: str, detail: Mapping[str, object]) -> None:
        """Record what the engine did in the interaction's event log."""
        ...

    def checkpoint(self) -> None:
        """Before a slow remote call: make the turn durable so far (the interaction, its
        clocks and the standard acknowledgement held back), so a crash loses nothing."""
        ...


@dataclass(frozen=True, slots=True)
class Turn:
    """One resident message, after the pipeline stored, classified and threaded it."""

    message: InboundMessage
    interaction_id: int | None
    reference: str | None
    classification: Classification | None
    # The standard acknowledgement of a new enquiry (None for a message in a known case).
    acknowledgement: OutboundMessage | None
    now: datetime
    conversation: Conversation

    @property
    def is_new(self) -> bool:
        return self.acknowledgement is not None

    @property
    def office_open(self) -> bool:
        return bool(self.conversation.rules.calendar.is_open(self.now))

    @property
    def pressing(self) -> bool:
        return self.classification is not None and self.classification.urgency in PRESSING


class ConversationEngine(Protocol):
    def respond(self, turn: Turn) -> list[Reply]:
        """What to say to this turn; an empty list when the engine has nothing to say."""
        ...


def wants_person(text: str, classification: Classification | None) -> bool:
    """HANDOFF from the button (its payload) or the classifier's intent, never from a list
    of words: "Someone has smashed the window of my front door" is a repair."""
    if text.strip().casefold() == PERSON_PAYLOAD.casefold():
        return True
    return classification is not None and classification.intent == HANDOFF_INTENT
