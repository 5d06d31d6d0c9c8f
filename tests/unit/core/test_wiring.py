"""The one wiring point: which classifier and which conversation handlers settings give."""

from __future__ import annotations

import pytest

from bot.bootstrap import default_classifier
from bot.conversation.rasa import RasaTurnHandler
from bot.conversation.rasa_nlu import RasaClassifier
from bot.domain.model import Channel
from bot.settings import Settings, SettingsError
from channels import registry


def test_nlu_engine_rasa_classifies_through_rasa() -> None:
    settings = Settings(nlu={"engine": "rasa"}, rasa={"url": "http://127.0.0.1:5005"})
    assert isinstance(default_classifier(settings), RasaClassifier)


def test_nlu_engine_rasa_without_a_url_names_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"nlu\.rasa_url"):
        default_classifier(Settings(nlu={"engine": "rasa"}))


def test_without_rasa_each_channel_keeps_its_own_assistant() -> None:
    handlers = registry.turn_handlers(Settings())
    assert Channel.EMAIL not in handlers
    assert not any(isinstance(h, RasaTurnHandler) for h in handlers.values())


def test_with_rasa_conversations_go_to_rasa_with_the_assistant_as_fallback() -> None:
    settings = Settings(rasa={"url": "http://127.0.0.1:5005"})
    plain = registry.turn_handlers(Settings())
    handlers = registry.turn_handlers(settings)
    assert Channel.EMAIL not in handlers  # email is acknowledged by the pipeline itself
    for channel in (Channel.WEBCHAT, Channel.SMS):
        handler = handlers[channel]
        if channel in (Channel.SMS, Channel.WEBCHAT):
            # The channel's keywords (HELP, START, appointment answers; in the web chat, a
            # member of staff in a live chat) come before Rasa.
            assert isinstance(handler, registry.KeywordsFirst)
            handler = handler.engine
        assert isinstance(handler, RasaTurnHandler)
        assert not isinstance(handler.fallback, RasaTurnHandler)
        assert (handler.fallback is None) == (channel not in plain)
