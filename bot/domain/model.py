"""One message model for every channel, and the things the service layer reasons about.

Everything here is a plain value: channels build an `InboundMessage`, the service layer
turns it into an `Interaction` with SLA clocks, and anything we send is an `OutboundMessage`
that goes through the outbox.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WEBCHAT = "webchat"
    SOCIAL = "social"


class Topic(enum.StrEnum):
    REPAIR = "repair"
    ASB = "asb"
    COMPLAINT = "complaint"
    GENERAL = "general"


class Urgency(enum.StrEnum):
    EMERGENCY = "emergency"
    URGENT = "urgent"
    ROUTINE = "routine"


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str | None
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """What every channel adapter produces: the provider's payload in one shape.

    `external_id` is the provider's own id (Message-ID, Twilio MessageSid, chat message
    id); with `channel` it makes redelivery harmless. `thread_refs` are ids this message
    answers (In-Reply-To/References for email, the conversation id for chat), used to join
    an existing interaction instead of opening a new one (ACK-2: no second acknowledgement).
    """

    channel: Channel
    external_id: str
    sender: str  # email address, E.164 phone number, chat session id, social handle
    received_at: datetime  # timezone-aware
    body: str  # the new text, quoted replies and signatures removed
    subject: str | None = None
    sender_name: str | None = None
    recipient: str | None = None  # the mailbox / number / page it was sent to
    thread_refs: tuple[str, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    full_text: str | None = None  # the whole text including quotes, for staff
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """A message we intend to send. It only ever leaves through the outbox.

    `idempotency_key` is unique per intended send: writing the same key twice is a no-op,
    so a retry after a crash can never produce a second acknowledgement.
    """

    channel: Channel
    recipient: str
    body: str
    idempotency_key: str
    subject: str | None = None
    html: str | None = None
    sender: str | None = None  # the team address / number to send from
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    interaction_id: int | None = None
    kind: str = "reply"  # acknowledgement, ooo, procedure, reminder, reply, ...
    auto: bool = True  # machine-generated: carries Auto-Submitted on email
    not_before: datetime | None = None  # quiet hours: held until then
    meta: dict[str, str] = field(default_factory=dict)
