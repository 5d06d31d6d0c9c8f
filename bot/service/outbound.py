"""Where a message to a resident enters the outbox, with its channel's rules applied.

SMS: GSM-7 normalisation, segments counted, quiet hours kept (channels.sms.conversation);
every other channel goes as composed. Callers that answer a resident use this rather than
`uow.enqueue`, so no path forgets the channel's rules.
"""

from __future__ import annotations

from datetime import datetime

from bot.domain.model import Channel, OutboundMessage
from bot.settings import Settings
from bot.storage.repository import UnitOfWork
from channels.sms.conversation import enqueue_text


def enqueue_reply(
    uow: UnitOfWork,
    settings: Settings,
    message: OutboundMessage,
    now: datetime,
    *,
    urgent: bool = False,
    reply: bool = True,
    message_id: str | None = None,
) -> int | None:
    """Write `message` to the outbox under its channel's rules; None when the key was used."""
    if message.channel is Channel.SMS:
        return enqueue_text(uow, settings, message, now, urgent=urgent, reply=reply)
    return uow.enqueue(message, message_id=message_id)
