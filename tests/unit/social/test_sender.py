"""The social sender's rules, with the network swapped for a function (httpx.MockTransport):
Meta's messaging window, the HUMAN_AGENT tag only on a person's reply, one private reply
within 7 days, errors translated at the edge, our own rate limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from bot.domain.model import Channel, OutboundMessage
from channels.base import PermanentSendError, TransientSendError
from channels.social.sender import SocialConfig, SocialSender, WindowClosedError

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class Recorder:
    def __init__(self, answer: tuple[int, dict[str, Any]] = (200, {"message_id": "m_1"})) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, body = self.answer
        return httpx.Response(status, json=body)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


def make(recorder: Recorder, **config: Any) -> SocialSender:
    settings = {
        "graph_url": "https://graph.test/v21.0",
        "page_id": "PAGE",
        "instagram_id": "IG",
        "page_access_token": "tok",
        "x_api_url": "https://x.test",
        "x_bearer_token": "xtok",
        **config,
    }
    return SocialSender(
        SocialConfig(**settings), transport=httpx.MockTransport(recorder), now=lambda: NOW
    )


def reply(last: timedelta | None, *, auto: bool, recipient: str = "fb:psid", **meta: str) -> Any:
    if last is not None:
        meta["resident_last_at"] = (NOW - last).isoformat()
    return OutboundMessage(Channel.SOCIAL, recipient, "Hello", "k", auto=auto, meta=meta)


async def test_inside_24_hours_is_a_response_with_the_token_in_a_header() -> None:
    rec = Recorder()
    sender = make(rec)
    result = await sender.send(reply(timedelta(hours=2), auto=True))
    await sender.aclose()
    (request,) = rec.requests
    assert request.url.path == "/v21.0/PAGE/messages"
    assert "access_token" not in str(request.url)  # never in a URL that may be logged
    assert request.headers["authorization"] == "Bearer tok"
    assert rec.bodies[0] == {
        "message": {"text": "Hello"},
        "recipient": {"id": "psid"},
        "messaging_type": "RESPONSE",
    }
    assert result.provider_id == "m_1"


async def test_human_agent_tag_only_on_a_persons_reply_between_24_hours_and_7_days() -> None:
    rec = Recorder()
    sender = make(rec)
    await sender.send(reply(timedelta(days=3), auto=False, recipient="ig:igsid"))
    assert rec.requests[0].url.path == "/v21.0/IG/messages"
    assert rec.bodies[0]["messaging_type"] == "MESSAGE_TAG"
    assert rec.bodies[0]["tag"] == "HUMAN_AGENT"
    with pytest.raises(WindowClosedError, match="no automatic message"):
        await sender.send(reply(timedelta(days=3), auto=True))
    with pytest.raises(WindowClosedError, match="7 days"):
        await sender.send(reply(timedelta(days=8), auto=False))
    assert len(rec.requests) == 1  # nothing sent that Meta would refuse
    await sender.aclose()


async def test_private_reply_goes_to_the_comment_once_and_not_after_7_days() -> None:
    rec = Recorder()
    sender = make(rec)
    fresh = reply(
        None,
        auto=True,
        action="private_reply",
        comment_id="c1",
        comment_at=(NOW - timedelta(days=1)).isoformat(),
    )
    await sender.send(fresh)
    assert rec.bodies[0]["recipient"] == {"comment_id": "c1"}
    assert "messaging_type" not in rec.bodies[0]
    stale = reply(
        None,
        auto=True,
        action="private_reply",
        comment_id="c2",
        comment_at=(NOW - timedelta(days=8)).isoformat(),
    )
    with pytest.raises(WindowClosedError):
        await sender.send(stale)
    await sender.aclose()


async def test_public_reply_and_hide_on_each_platform() -> None:
    rec = Recorder((200, {"id": "r1", "success": True}))
    sender = make(rec)
    await sender.send(reply(None, auto=True, action="public_reply", comment_id="fbc"))
    await sender.send(
        reply(None, auto=True, recipient="ig:u", action="public_reply", comment_id="igc")
    )
    await sender.send(reply(None, auto=True, action="hide", comment_id="fbc"))
    await sender.send(reply(None, auto=True, recipient="ig:u", action="hide", comment_id="igc"))
    await sender.aclose()
    paths = [r.url.path for r in rec.requests]
    assert paths == ["/v21.0/fbc/comments", "/v21.0/igc/replies", "/v21.0/fbc", "/v21.0/igc"]
    assert rec.bodies[2] == {"is_hidden": True} and rec.bodies[3] == {"hide": True}


@pytest.mark.parametrize(
    ("status", "error", "expected"),
    [
        (400, {"code": 190, "error_subcode": 463}, TransientSendError),
        (400, {"code": 613}, TransientSendError),
        (400, {"code": 10, "error_subcode": 2018278}, WindowClosedError),
        (500, {"code": 2}, TransientSendError),
        (400, {"code": 100}, PermanentSendError),
    ],
)
async def test_meta_errors_translated_at_the_edge(
    status: int, error: dict[str, Any], expected: type[Exception]
) -> None:
    sender = make(Recorder((status, {"error": {"message": "no", **error}})))
    with pytest.raises(expected):
        await sender.send(reply(None, auto=True))
    if error["code"] == 190:
        assert "renew" in sender.health()["meta"]
    await sender.aclose()


async def test_an_unreachable_api_is_worth_retrying() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    sender = SocialSender(
        SocialConfig("https://g/v1", "P", None, "t", "https://x", "x"),
        transport=httpx.MockTransport(down),
    )
    with pytest.raises(TransientSendError):
        await sender.send(reply(None, auto=True))
    await sender.aclose()


async def test_x_direct_message_mention_reply_and_the_dm_rate_limit() -> None:
    rec = Recorder((201, {"data": {"dm_event_id": "e1", "id": "t1"}}))
    sender = make(rec, x_dms_per_window=1)
    await sender.send(reply(None, auto=True, recipient="x:42"))
    await sender.send(
        reply(None, auto=True, recipient="x:42", action="public_reply", comment_id="t9")
    )
    with pytest.raises(TransientSendError, match="rate limit"):
        await sender.send(reply(None, auto=True, recipient="x:42"))
    await sender.aclose()
    assert [r.url.path for r in rec.requests] == [
        "/2/dm_conversations/with/42/messages",
        "/2/tweets",
    ]
    assert rec.bodies[1] == {"text": "Hello", "reply": {"in_reply_to_tweet_id": "t9"}}


async def test_not_a_social_address_is_refused() -> None:
    sender = make(Recorder())
    with pytest.raises(PermanentSendError):
        await sender.send(reply(None, auto=True, recipient="someone@example.org"))
    await sender.aclose()
