"""The small contract every channel keeps, and the registry that finds senders by channel name.

Inbound: an adapter verifies authenticity, builds an `InboundMessage`, hands it to the
`IntakeCallback` (which stores it before anything else happens) and returns.
Outbound: a `Sender` delivers one `OutboundMessage`; the outbox worker decides about retries
from the error class raised. Adapters translate their library's errors into these at the edge.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.domain.model import Channel, InboundMessage, OutboundMessage

if TYPE_CHECKING:
    from bot.service.pipeline import Turn


class ChannelError(Exception):
    """Base of every error a channel adapter raises."""


class SendError(ChannelError):
    """Sending failed."""


class TransientSendError(SendError):
    """Worth retrying later: the server is down, busy or rate-limiting us."""


class PermanentSendError(SendError):
    """Retrying will not help: bad address, opted out, refused for good."""


class InvalidPayloadError(ChannelError):
    """A provider payload we cannot turn into a message (it is quarantined with this reason)."""


@dataclass(frozen=True, slots=True)
class SendResult:
    provider_id: str | None = None  # Message-ID, Twilio SID ...
    status: str = "sent"


class Sender(Protocol):
    """Delivers one message. A sender may also offer `batch()`, an async context manager
    the outbox enters around each batch it sends (SMTP keeps its session for the batch)."""

    channel: Channel

    async def send(self, message: OutboundMessage) -> SendResult: ...


IntakeCallback = Callable[[InboundMessage], Awaitable[None]]


class SenderRegistry:
    """Finds the sender for a channel by name; one per channel."""

    def __init__(self) -> None:
        self._senders: dict[Channel, Sender] = {}

    def register(self, sender: Sender) -> None:
        self._senders[sender.channel] = sender

    def get(self, channel: Channel) -> Sender:
        try:
            return self._senders[channel]
        except KeyError:
            raise PermanentSendError(
                f"no sender configured for channel {channel.value!r}"
            ) from None

    def find(self, channel: Channel) -> Sender | None:
        return self._senders.get(channel)

    def __contains__(self, channel: object) -> bool:
        return channel in self._senders


class CollectingSender:
    """The built-in fake: records what would be sent (like Rasa's CollectingOutputChannel)."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.sent: list[OutboundMessage] = []

    async def send(self, message: OutboundMessage) -> SendResult:
        self.sent.append(message)
        return SendResult(provider_id=f"fake-{len(self.sent)}")


@dataclass(frozen=True, slots=True)
class DecodedInbound:
    """A stored raw payload turned into a message, with what the channel knows about replying.

    `no_reply_reason` is set when an automatic reply must not go (auto-replies, bounces,
    mailing lists: domain.md's loop rules); `failed_recipients` are addresses a bounce
    reports as undeliverable, which then get no automatic mail for a while.
    """

    message: InboundMessage
    no_reply_reason: str | None = None
    failed_recipients: tuple[str, ...] = ()


# Turns a stored raw payload (bytes, its source) into a message; raises InvalidPayloadError.
Decoder = Callable[[bytes, str], DecodedInbound]


# What the pipeline calls for a message on a conversational channel, inside the message's
# transaction: `bot.conversation.turns.TurnRunner` (the channel's keywords, then the
# conversation engine, every reply through the outbox) is the one implementation. True when
# the turn was answered (then the standard acknowledgement is not sent). The Turn is named
# for the type checker only, so channels/ import nothing from the service layer at run time.
TurnHandler = Callable[["Turn"], bool]


@runtime_checkable
class AnswersKeywords(Protocol):
    """A turn handler that can answer a channel's own words alone (without any engine): the
    pipeline gives a text on a closed case this chance before reopening the case."""

    def __call__(self, turn: Turn) -> bool: ...

    def answer_keywords(self, turn: Turn) -> bool: ...
