"""Channels found by name. Each channel package has an `adapter` module with

    def decoder(settings: Settings) -> Decoder | None        # stored raw payload -> message
    def sender(settings: Settings) -> Sender | None          # delivers outbox rows
    def converses(settings: Settings) -> bool                # optional: answered by the engine
    def keywords(settings: Settings) -> KeywordStep          # optional: words before the engine

returning None when the channel is not configured. A channel not built yet is skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from types import ModuleType
from typing import TYPE_CHECKING

from bot.domain.model import Channel

if TYPE_CHECKING:
    from bot.conversation.engine import ConversationEngine
    from bot.conversation.turns import TurnRunner
    from bot.settings import Settings
    from channels.base import Decoder, Sender, TurnHandler

# Conversations (not email) go to Rasa when `rasa.url` is set; the built-in engine is then
# the fall-back when Rasa is down or silent.
CONVERSATIONAL = (Channel.WEBCHAT, Channel.SMS, Channel.SOCIAL)

CHANNEL_PACKAGES: dict[Channel, str] = {
    Channel.EMAIL: "channels.email",
    Channel.SMS: "channels.sms",
    Channel.WEBCHAT: "channels.webchat",
    Channel.SOCIAL: "channels.social",
}


def adapter_module(channel: Channel) -> ModuleType | None:
    name = f"{CHANNEL_PACKAGES[channel]}.adapter"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise


def decoders(settings: Settings) -> dict[Channel, Decoder]:
    found: dict[Channel, Decoder] = {}
    for channel in CHANNEL_PACKAGES:
        module = adapter_module(channel)
        if module is not None and (decoder := module.decoder(settings)) is not None:
            found[channel] = decoder
    return found


def senders(settings: Settings, only: Collection[Channel] | None = None) -> list[Sender]:
    """The configured channels' senders (of `only` those channels, when given)."""
    found: list[Sender] = []
    for channel in CHANNEL_PACKAGES:
        if only is not None and channel not in only:
            continue  # not imported either: a sending process loads only what it sends
        module = adapter_module(channel)
        if module is not None and (sender := module.sender(settings)) is not None:
            found.append(sender)
    return found


def engine_for(settings: Settings, channel: Channel) -> ConversationEngine:
    """The conversation engine of a channel: the built-in one, or Rasa (when `rasa.url` is
    set) with the built-in one as its fall-back; both ask the safety question when unsure.
    The built-in one answers "talk to a person" in one message (bot.conversation.person)."""
    from bot.conversation.builtin import BuiltInEngine
    from bot.conversation.person import PersonNow
    from bot.conversation.unsure import AskWhenUnsure

    engine: ConversationEngine = PersonNow(BuiltInEngine())
    if settings.rasa.url and channel in CONVERSATIONAL:
        from bot.conversation.rasa import RasaEngine

        engine = RasaEngine(settings, fallback=engine)
    return AskWhenUnsure(engine)


def turn_handler(channel: Channel, settings: Settings) -> TurnRunner | None:
    """A conversational channel's turns: its keywords first (SMS: HELP, START, appointment
    YES / NO; social: public comments), then the engine; None for a channel that does not
    converse (email) or is not configured."""
    from bot.conversation.turns import TurnRunner

    module = adapter_module(channel)
    converses = getattr(module, "converses", None) if module is not None else None
    if converses is None or not converses(settings):
        return None
    keywords = getattr(module, "keywords", None)
    return TurnRunner(
        engine_for(settings, channel), keywords(settings) if keywords is not None else None
    )


def turn_handlers(settings: Settings) -> dict[Channel, TurnHandler]:
    found: dict[Channel, TurnHandler] = {}
    for channel in CHANNEL_PACKAGES:
        if (handler := turn_handler(channel, settings)) is not None:
            found[channel] = handler
    return found
