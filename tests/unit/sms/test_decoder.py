"""The SMS decoder: Twilio's form to one InboundMessage; opt-out words never get a reply."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from bot.domain.model import Channel
from channels.base import InvalidPayloadError
from channels.sms.adapter import make_decoder

ACCOUNT = "AC" + "0" * 31 + "1"
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _raw(**fields: str) -> bytes:
    form = {
        "MessageSid": "SM" + "a" * 32,
        "AccountSid": ACCOUNT,
        "From": "+447700900123",
        "To": "+447700900000",
        "Body": "My boiler is broken",
        "NumMedia": "0",
        **fields,
    }
    return urlencode(form).encode()


decode = make_decoder(ACCOUNT, now=lambda: NOW)


def test_a_text_becomes_an_inbound_message() -> None:
    decoded = decode(_raw(), "twilio")
    msg = decoded.message
    assert msg.channel is Channel.SMS
    assert msg.external_id == "SM" + "a" * 32
    assert msg.sender == "+447700900123"
    assert msg.recipient == "+447700900000"
    assert msg.body == "My boiler is broken"
    assert msg.received_at == NOW
    assert decoded.no_reply_reason is None


@pytest.mark.parametrize("word", ["STOP", "cancel", "Unsubscribe.", "START", "unstop"])
def test_opt_out_and_opt_in_words_are_never_answered(word: str) -> None:
    decoded = decode(_raw(Body=word), "twilio")
    assert decoded.no_reply_reason is not None and "sms opt-" in decoded.no_reply_reason


def test_yes_and_longer_texts_are_ordinary_messages() -> None:
    assert decode(_raw(Body="YES"), "twilio").no_reply_reason is None
    assert decode(_raw(Body="cancel my appointment"), "twilio").no_reply_reason is None


def test_media_become_attachments() -> None:
    decoded = decode(_raw(NumMedia="1", MediaContentType0="image/jpeg"), "twilio")
    assert [a.content_type for a in decoded.message.attachments] == ["image/jpeg"]


@pytest.mark.parametrize(
    "raw",
    [
        urlencode({"From": "+447700900123", "Body": "x"}).encode(),  # no MessageSid
        urlencode({"MessageSid": "SM1", "Body": "x"}).encode(),  # no From
        b"\xff\xfe",  # not UTF-8
    ],
)
def test_broken_payloads_are_quarantined(raw: bytes) -> None:
    with pytest.raises(InvalidPayloadError):
        decode(raw, "twilio")


def test_another_account_is_refused() -> None:
    with pytest.raises(InvalidPayloadError):
        decode(_raw(AccountSid="AC" + "9" * 32), "twilio")
