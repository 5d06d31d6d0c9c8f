"""The web chat's pure parts: payload decoding, the person detector, the rate limiter, the
origin check and the hub (no sockets, no database)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from bot.conversation.engine import wants_person
from bot.domain.model import Channel
from bot.nlu.types import Classification
from channels.base import InvalidPayloadError
from channels.webchat.adapter import ChatPayload, decode, encode_payload
from channels.webchat.hub import Hub
from channels.webchat.server import RateLimiter, origin_allowed

AT = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)


def _payload(**kw: object) -> ChatPayload:
    values: dict[str, object] = {
        "session_id": "ws-1",
        "conversation_id": "wc-1",
        "client_id": "c-2",
        "text": "  My boiler is broken  ",
        "received_at": AT,
    }
    values.update(kw)
    return ChatPayload(**values)  # type: ignore[arg-type]


def test_first_message_names_only_the_conversation() -> None:
    msg = decode(encode_payload(_payload()), "webchat").message
    assert msg.channel is Channel.WEBCHAT
    assert (msg.external_id, msg.sender, msg.body) == ("ws-1:c-2", "ws-1", "My boiler is broken")
    assert msg.thread_refs == ("wc-1",)
    assert msg.received_at == AT


def test_later_messages_name_the_first_so_they_join_its_interaction() -> None:
    raw = encode_payload(_payload(opening_external_id="ws-1:c-1"))
    assert decode(raw, "webchat").message.thread_refs == ("wc-1", "ws-1:c-1")


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[]", b'{"v": 99}', b'{"v": 1, "session": "s"}', "é".encode("latin-1")],
)
def test_bad_payloads_are_quarantined(raw: bytes) -> None:
    with pytest.raises(InvalidPayloadError):
        decode(raw, "webchat")


def test_a_bad_client_id_is_refused() -> None:
    with pytest.raises(InvalidPayloadError):
        decode(encode_payload(_payload(client_id="has spaces")), "webchat")


def _said(intent: str) -> Classification:
    return Classification(topic="general", urgency="routine", intent=intent)


def test_asking_for_a_person_is_the_button_or_the_classifiers_intent() -> None:
    assert wants_person("I would like to talk to a person", None)  # the button's payload
    assert wants_person("Can I talk to someone?", _said("ask_human"))


@pytest.mark.parametrize(
    "text",
    ["Someone has smashed the window of my front door", "talk to my neighbour", "personal"],
)
def test_words_alone_never_hand_off(text: str) -> None:
    """Hand-off by keyword answered a break-in with the reference and 999, each twice."""
    assert not wants_person(text, _said("report_repair"))
    assert not wants_person(text, None)


def test_rate_limiter_allows_n_per_minute_per_session() -> None:
    limiter = RateLimiter(2)
    assert limiter.allow("a", now=0) and limiter.allow("a", now=1)
    assert not limiter.allow("a", now=2)
    assert limiter.allow("b", now=2)
    assert limiter.allow("a", now=61)


@pytest.mark.parametrize(
    ("origin", "host", "allowed", "ok"),
    [
        (None, "chat.example", [], True),
        ("https://chat.example", "chat.example", [], True),
        ("https://evil.example", "chat.example", [], False),
        ("https://www.landlord.example/", "chat.example", ["https://www.landlord.example"], True),
        ("https://evil.example", "chat.example", ["https://www.landlord.example"], False),
    ],
)
def test_origin_check(origin: str | None, host: str, allowed: list[str], ok: bool) -> None:
    assert origin_allowed(origin, host, allowed) is ok


async def test_hub_rings_only_the_session_and_works_from_other_threads() -> None:
    hub = Hub()
    mine, other = hub.subscribe("s1"), hub.subscribe("s2")
    await asyncio.to_thread(hub.publish, "s1")
    await asyncio.wait_for(mine.wait(), timeout=5)
    assert not other.is_set()
    hub.unsubscribe("s1", mine)
    assert hub.connected("s1") == 0 and hub.connected("s2") == 1
