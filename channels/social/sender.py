"""Sending on social media: Meta's Send API (Messenger and Instagram), comment replies and
moderation through the Graph API, and X's v2 endpoints; httpx, wrapped, never inherited.

Meta's messaging window (SOCIAL; the anchors got this wrong): inside 24 hours of the
resident's last message we answer with `messaging_type: RESPONSE`; between 24 hours and
7 days only a person may answer, with the `HUMAN_AGENT` tag, never an automatic message;
after that nothing may be sent, and the send fails permanently with a reason staff see,
so nothing is dropped silently. A comment gets at most one private reply, within 7 days.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bot.domain.model import Channel, OutboundMessage
from channels.base import PermanentSendError, SendResult, TransientSendError

WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
PRIVATE_REPLY_WINDOW = timedelta(days=7)

# Graph API error codes (Meta's "Handling Errors" page): throttling is worth retrying.
_THROTTLED = {4, 17, 32, 613, 80001, 80002, 80004, 80006}
_TOKEN = {190, 102, 463, 467}
_OUTSIDE_WINDOW_SUBCODES = {2018278, 2018065, 2534022, 2018108}


class WindowClosedError(PermanentSendError):
    """Meta's messaging window has closed: staff must use another channel."""


@dataclass(frozen=True, slots=True)
class SocialConfig:
    graph_url: str
    page_id: str | None
    instagram_id: str | None
    page_access_token: str | None
    x_api_url: str
    x_bearer_token: str | None
    timeout: float = 10.0
    meta_per_second: int = 300  # Meta: calls a second per Page
    x_dms_per_window: int = 200  # X: direct messages per 15 minutes
    x_window_seconds: float = 15 * 60


class _Limit:
    """At most `count` calls in any `seconds`: over it, the outbox backs off and retries."""

    def __init__(self, count: int, seconds: float, clock: Callable[[], float]) -> None:
        self.count, self.seconds, self.clock = count, seconds, clock
        self.calls: collections.deque[float] = collections.deque()

    def take(self, what: str) -> None:
        now = self.clock()
        while self.calls and self.calls[0] <= now - self.seconds:
            self.calls.popleft()
        if len(self.calls) >= self.count:
            raise TransientSendError(f"{what}: our own rate limit ({self.count} a window)")
        self.calls.append(now)


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class SocialSender:
    channel = Channel.SOCIAL

    def __init__(
        self,
        config: SocialConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._now = now
        self._meta_limit = _Limit(config.meta_per_second, 1.0, monotonic)
        self._x_limit = _Limit(config.x_dms_per_window, config.x_window_seconds, monotonic)
        # What /api/status shows: an expired page token is a state, not a stream of failures.
        self.state: dict[str, str] = {}

    def health(self) -> dict[str, str]:
        return dict(self.state)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.config.timeout, transport=self._transport)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(self, message: OutboundMessage) -> SendResult:
        platform, _, user_id = message.recipient.partition(":")
        if platform in ("fb", "ig"):
            return await self._send_meta(platform, user_id, message)
        if platform == "x":
            return await self._send_x(user_id, message)
        raise PermanentSendError(f"not a social address: {message.recipient!r}")

    # ---- Meta -------------------------------------------------------------------------

    async def _send_meta(self, platform: str, user_id: str, message: OutboundMessage) -> SendResult:
        token = self.config.page_access_token
        if not token:
            raise PermanentSendError("social.meta.page_access_token is not set")
        account = self.config.page_id if platform == "fb" else self.config.instagram_id
        action = message.meta.get("action", "message")
        comment_id = message.meta.get("comment_id", "")
        base = self.config.graph_url.rstrip("/")
        if action == "hide":
            field = "is_hidden" if platform == "fb" else "hide"
            data = await self._meta_call(f"{base}/{comment_id}", {field: True}, token)
            return SendResult(provider_id=comment_id, status="hidden" if data else "sent")
        if action == "public_reply":
            edge = "comments" if platform == "fb" else "replies"
            data = await self._meta_call(
                f"{base}/{comment_id}/{edge}", {"message": message.body}, token
            )
            return SendResult(provider_id=str(data.get("id") or "") or None)
        if not account:
            key = "page_id" if platform == "fb" else "instagram_id"
            raise PermanentSendError(f"social.meta.{key} is not set")
        body: dict[str, Any] = {"message": {"text": message.body}}
        if action == "private_reply":
            commented = _when(message.meta.get("comment_at"))
            if commented is not None and self._now() - commented > PRIVATE_REPLY_WINDOW:
                raise WindowClosedError(
                    "the comment is more than 7 days old: Meta allows no private reply now"
                )
            body["recipient"] = {"comment_id": comment_id}
        else:
            body["recipient"] = {"id": user_id}
            body.update(self._messaging_type(message))
        data = await self._meta_call(f"{base}/{account}/messages", body, token)
        return SendResult(provider_id=str(data.get("message_id") or "") or None)

    def _messaging_type(self, message: OutboundMessage) -> dict[str, str]:
        last = _when(message.meta.get("resident_last_at"))
        age = self._now() - last if last is not None else timedelta(0)
        if age <= WINDOW:
            return {"messaging_type": "RESPONSE"}
        if message.auto:
            raise WindowClosedError(
                "the resident last wrote more than 24 hours ago: Meta allows no automatic "
                "message now; a member of staff may still answer within 7 days"
            )
        if age <= HUMAN_AGENT_WINDOW:
            # A person answering a resident's question: the one use Meta allows this tag for.
            return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
        raise WindowClosedError(
            "the resident last wrote more than 7 days ago: Meta's window has closed; "
            "contact them on another channel"
        )

    async def _meta_call(self, url: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        self._meta_limit.take("Meta")
        try:
            response = await self._http().post(
                url, json=body, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            raise TransientSendError(f"Meta's Graph API unreachable: {type(exc).__name__}") from exc
        data = _json(response)
        if response.status_code < 400 and "error" not in data:
            self.state.pop("meta", None)
            return data
        raise self._meta_error(response, data)

    def _meta_error(self, response: httpx.Response, data: dict[str, Any]) -> Exception:
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        assert isinstance(error, dict)
        code = error.get("code")
        subcode = error.get("error_subcode")
        text = f"Meta error {code}/{subcode}: {str(error.get('message', ''))[:200]}"
        if code in _TOKEN:
            # Kept for retry: the messages are still wanted once an admin renews the token.
            self.state["meta"] = "page access token refused (expired or revoked): renew it"
            return TransientSendError(text)
        if code in _THROTTLED or response.status_code == 429:
            return TransientSendError(text)
        if subcode in _OUTSIDE_WINDOW_SUBCODES or code == 10:
            return WindowClosedError(text)
        if response.status_code >= 500 or error.get("is_transient"):
            return TransientSendError(text)
        return PermanentSendError(text)

    # ---- X ----------------------------------------------------------------------------

    async def _send_x(self, user_id: str, message: OutboundMessage) -> SendResult:
        token = self.config.x_bearer_token
        if not token:
            raise PermanentSendError("social.x.bearer_token is not set")
        base = self.config.x_api_url.rstrip("/")
        if message.meta.get("action") == "public_reply":
            url = f"{base}/2/tweets"
            body: dict[str, Any] = {
                "text": message.body,
                "reply": {"in_reply_to_tweet_id": message.meta.get("comment_id", "")},
            }
        else:
            self._x_limit.take("X direct messages")
            url = f"{base}/2/dm_conversations/with/{user_id}/messages"
            body = {"text": message.body}
        try:
            response = await self._http().post(
                url, json=body, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            raise TransientSendError(f"X's API unreachable: {type(exc).__name__}") from exc
        data = _json(response)
        if response.status_code < 400:
            self.state.pop("x", None)
            inner = data.get("data") if isinstance(data.get("data"), dict) else {}
            assert isinstance(inner, dict)
            return SendResult(provider_id=str(inner.get("dm_event_id") or inner.get("id") or ""))
        text = f"X error {response.status_code}: {str(data.get('detail') or data)[:200]}"
        if response.status_code == 401:
            self.state["x"] = "X token refused (expired or revoked): renew it"
            return_error: Exception = TransientSendError(text)
        elif response.status_code == 429 or response.status_code >= 500:
            return_error = TransientSendError(text)
        else:
            return_error = PermanentSendError(text)
        raise return_error


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
