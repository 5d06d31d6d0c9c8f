"""The one wiring point: which classifier and which conversation handlers settings give."""

from __future__ import annotations

import pytest

from bot.bootstrap import default_classifier
from bot.conversation.builtin import BuiltInEngine
from bot.conversation.person import PersonNow
from bot.conversation.rasa import RasaEngine
from bot.conversation.rasa_nlu import RasaClassifier
from bot.conversation.turns import TurnRunner
from bot.conversation.unsure import AskWhenUnsure
from bot.domain.model import Channel
from bot.settings import Settings, SettingsError
from channels import registry


def test_nlu_engine_rasa_classifies_through_rasa() -> None:
    settings = Settings(nlu={"engine": "rasa"}, rasa={"url": "http://127.0.0.1:5005"})
    assert isinstance(default_classifier(settings), RasaClassifier)


def test_nlu_engine_rasa_without_a_url_names_the_setting() -> None:
    with pytest.raises(SettingsError, match=r"nlu\.rasa_url"):
        default_classifier(Settings(nlu={"engine": "rasa"}))


def _engines(settings: Settings) -> dict[Channel, TurnRunner]:
    handlers = registry.turn_handlers(settings)
    assert all(isinstance(h, TurnRunner) for h in handlers.values())
    return {c: h for c, h in handlers.items() if isinstance(h, TurnRunner)}


def test_without_rasa_each_channel_keeps_its_own_assistant() -> None:
    handlers = _engines(Settings())
    assert Channel.EMAIL not in handlers
    for handler in handlers.values():
        assert isinstance(handler.engine, AskWhenUnsure)
        # The built-in engine answers "talk to a person" in one message (PersonNow).
        assert isinstance(handler.engine.inner, PersonNow)
        assert isinstance(handler.engine.inner.inner, BuiltInEngine)


def test_with_rasa_conversations_go_to_rasa_with_the_assistant_as_fallback() -> None:
    settings = Settings(rasa={"url": "http://127.0.0.1:5005"})
    handlers = _engines(settings)
    assert Channel.EMAIL not in handlers  # email is acknowledged by the pipeline itself
    for channel in (Channel.WEBCHAT, Channel.SMS):
        handler = handlers[channel]
        # The channel's keywords (SMS: HELP, START, appointment answers; web chat: a member of
        # staff in a live chat) come before Rasa.
        assert handler.keywords is not None
        engine = handler.engine
        assert isinstance(engine, AskWhenUnsure)
        assert isinstance(engine.inner, RasaEngine)
        assert isinstance(engine.inner.fallback, PersonNow)
        assert isinstance(engine.inner.fallback.inner, BuiltInEngine)
