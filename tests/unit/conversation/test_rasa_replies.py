"""Rasa's REST replies as Doorstep messages, and the conversation id Rasa keeps."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.conversation import RasaEngine, conversation_id
from bot.conversation.rasa import reply_texts
from bot.domain.model import Channel, InboundMessage
from bot.settings import Settings


def _message(channel: Channel, refs: tuple[str, ...] = ()) -> InboundMessage:
    return InboundMessage(
        channel=channel,
        external_id="x1",
        sender="+447700900123",
        received_at=datetime(2026, 12, 21, 10, tzinfo=UTC),
        body="hello",
        thread_refs=refs,
    )


def test_chat_keeps_its_conversation_id_and_sms_uses_the_number() -> None:
    assert conversation_id(_message(Channel.WEBCHAT, ("conv-9", "m1"))) == "webchat:conv-9"
    assert conversation_id(_message(Channel.SMS)) == "sms:+447700900123"


def test_buttons_become_choices_in_the_text_for_channels_without_buttons() -> None:
    replies = reply_texts(
        [
            {
                "recipient_id": "a",
                "text": "Is anyone at risk?",
                "buttons": [
                    {"title": "Yes", "payload": "/affirm"},
                    {"title": "No", "payload": "/deny"},
                ],
            },
            {"recipient_id": "a", "image": "https://example.org/map.png"},
            {"recipient_id": "a", "custom": {"kind": "ignored"}},
            {"recipient_id": "a", "text": "   "},
        ]
    )
    assert replies == [
        (
            "Is anyone at risk?\n- Yes\n- No",
            [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
        ),
        ("https://example.org/map.png", []),
    ]


def test_the_engine_needs_a_rasa_url() -> None:
    with pytest.raises(ValueError, match="DOORSTEP_RASA__URL"):
        RasaEngine(Settings())
