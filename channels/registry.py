"""Channels found by name. Each channel package has an `adapter` module with

    def decoder(settings: Settings) -> Decoder | None        # stored raw payload -> message
    def sender(settings: Settings) -> Sender | None          # delivers outbox rows
    def turn_handler(settings: Settings) -> TurnHandler | None   # optional: conversational reply

returning None when the channel is not configured. A channel not built yet is skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import Collection
from types import ModuleType
from typing import TYPE_CHECKING

from bot.domain.model import Channel

if TYPE_CHECKING:
    from bot.service.pipeline import Turn
    from bot.settings import Settings
    from channels.base import Decoder, Sender, TurnHandler

# Conversations (not email) go to Rasa when `rasa.url` is set; the channel's own assistant
# is then the fallback when Rasa is down or silent (issue: Rasa as the conversational engine).
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


class KeywordsFirst:
    """A channel's own words (SMS: HELP, START, appointment YES / NO) answered before the
    conversation engine sees the turn: Rasa must not take "YES" for small talk."""

    def __init__(self, keywords: TurnHandler, engine: TurnHandler) -> None:
        self.keywords = keywords
        self.engine = engine

    def __call__(self, turn: Turn) -> bool:
        return self.keywords(turn) or self.engine(turn)


def turn_handlers(settings: Settings) -> dict[Channel, TurnHandler]:
    found: dict[Channel, TurnHandler] = {}
    for channel in CHANNEL_PACKAGES:
        module = adapter_module(channel)
        factory = getattr(module, "turn_handler", None) if module is not None else None
        handler = factory(settings) if factory is not None else None
        if settings.rasa.url and channel in CONVERSATIONAL and module is not None:
            from bot.conversation.rasa import RasaTurnHandler

            # Rasa is the engine, the channel's own assistant its fall-back; the channel's
            # keywords still come first.
            handler = RasaTurnHandler(settings, fallback=handler)
            keywords = getattr(module, "keyword_handler", None)
            if keywords is not None:
                handler = KeywordsFirst(keywords(settings), handler)
        if handler is not None:
            found[channel] = handler
    return found
