"""Token caching and the Graph client's HTTP handling, with fakes (no sockets)."""

from __future__ import annotations

import base64

import httpx
import pytest

from channels.email.graph import GraphClient, GraphRefused, GraphUnavailable, _parse_time
from channels.email.health import MailboxHealth, mailbox_states
from channels.email.oauth import AccessToken, TokenCache, TokenUnavailable


class Source:
    def __init__(self, lifetime: float = 3600.0) -> None:
        self.lifetime = lifetime
        self.now = 1000.0
        self.fetched = 0
        self.fail: Exception | None = None

    def fetch(self) -> AccessToken:
        if self.fail is not None:
            raise self.fail
        self.fetched += 1
        return AccessToken(f"t{self.fetched}", self.now + self.lifetime, issued_at=self.now)


def test_token_is_reused_until_the_margin_then_refreshed() -> None:
    source = Source(lifetime=3600)
    cache = TokenCache(source, clock=lambda: source.now)
    assert cache.get().value == "t1"
    source.now += 3600 - 301  # five minutes and a second left
    assert cache.get().value == "t1"
    source.now += 2  # inside the five-minute margin
    assert cache.get().value == "t2"


def test_short_tokens_are_renewed_at_three_quarters_of_their_life() -> None:
    source = Source(lifetime=4)
    cache = TokenCache(source, clock=lambda: source.now)
    token = cache.get()
    assert cache.usable_until(token) == pytest.approx(source.now + 3)


def test_invalidate_and_failures() -> None:
    source = Source()
    cache = TokenCache(source, clock=lambda: source.now)
    cache.get()
    cache.invalidate()
    source.fail = TokenUnavailable("down")
    with pytest.raises(TokenUnavailable):
        cache.get()
    source.fail = None
    assert cache.get().value == "t2"


def test_token_value_is_not_in_repr() -> None:
    assert "secret-token" not in repr(AccessToken("secret-token", 1.0))


def graph_client(handler: httpx.MockTransport, sleeps: list[float]) -> GraphClient:
    source = Source()

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return GraphClient(
        "https://graph.test/v1.0",
        "repairs@landlord.example",
        TokenCache(source),
        transport=handler,
        sleep=sleep,
        max_retries=3,
        max_retry_wait=30,
    )


async def test_429_waits_retry_after_then_succeeds() -> None:
    calls: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) <= 2:
            return httpx.Response(429, headers={"Retry-After": "7"})
        return httpx.Response(200, json={"value": [], "@odata.deltaLink": "https://d"})

    sleeps: list[float] = []
    client = graph_client(httpx.MockTransport(handle), sleeps)
    items, link = await client.delta("inbox", None)
    await client.aclose()
    assert (items, link) == ([], "https://d")
    assert sleeps == [7.0, 7.0] and client.throttled == 2
    assert calls[0].headers["Authorization"] == "Bearer t1"
    assert calls[0].headers["Prefer"] == 'IdType="ImmutableId", odata.maxpagesize=200'


async def test_throttled_too_long_is_unavailable_and_huge_waits_are_capped() -> None:
    sleeps: list[float] = []
    client = graph_client(
        httpx.MockTransport(lambda r: httpx.Response(429, headers={"Retry-After": "3600"})),
        sleeps,
    )
    with pytest.raises(GraphUnavailable):
        await client.send_mime(b"x")
    await client.aclose()
    assert sleeps == [30, 30, 30]


async def test_401_gets_one_fresh_token_then_refuses() -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken"}})

    client = graph_client(httpx.MockTransport(handle), [])
    with pytest.raises(GraphRefused) as info:
        await client.delta("inbox", None)
    await client.aclose()
    assert info.value.status == 401 and seen == ["Bearer t1", "Bearer t2"]


async def test_delta_follows_pages_and_skips_removed() -> None:
    pages = {
        "/v1.0/users/repairs@landlord.example/mailFolders/inbox/messages/delta": {
            "value": [{"id": "a"}, {"id": "b", "@removed": {"reason": "deleted"}}],
            "@odata.nextLink": "https://graph.test/next",
        },
        "/next": {
            "value": [{"id": "c", "receivedDateTime": "2026-11-30T05:00:00.1234567Z"}],
            "@odata.deltaLink": "https://graph.test/delta2",
        },
    }
    client = graph_client(
        httpx.MockTransport(lambda r: httpx.Response(200, json=pages[r.url.path])), []
    )
    items, link = await client.delta("inbox", None)
    await client.aclose()
    assert [(i.id, i.removed) for i in items] == [("a", False), ("b", True), ("c", False)]
    assert link == "https://graph.test/delta2"
    assert items[2].received_at is not None and items[2].received_at.microsecond == 123456


async def test_send_mime_is_base64_text() -> None:
    bodies: list[bytes] = []

    def handle(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        assert request.headers["Content-Type"] == "text/plain"
        return httpx.Response(202)

    client = graph_client(httpx.MockTransport(handle), [])
    await client.send_mime(b"Subject: hi\r\n\r\nbody")
    await client.aclose()
    assert base64.b64decode(bodies[0]) == b"Subject: hi\r\n\r\nbody"


def test_parse_time_tolerates_graph_formats() -> None:
    assert _parse_time("2026-11-30T05:00:00Z") is not None
    assert _parse_time("garbage") is None
    assert _parse_time(None) is None


def test_health_states_for_status() -> None:
    extras: dict[str, object] = {}
    assert mailbox_states(extras) == []
    health = MailboxHealth()
    extras["mailbox_health"] = health
    health.register("repairs", intake="imap", auth="oauth2")
    health.set("repairs", "token_refused", "invalid_client: AADSTS7000215", retry_in=4)
    health.set("repairs", "token_refused", "again", retry_in=8)
    (state,) = mailbox_states(extras)
    assert state["ok"] is False and state["failures"] == 2 and state["retry_in_seconds"] == 8
    assert "consent" in state["advice"]
    health.set("repairs", "connected")
    (state,) = mailbox_states(extras)
    assert state["ok"] is True and state["failures"] == 0 and state["advice"] is None
