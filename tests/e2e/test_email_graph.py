"""The Microsoft Graph intake and sender against a fake Graph (ASGI) and the fake identity
provider: the real Graph client (httpx) and the real MSAL fetch tokens and call them over
sockets; Graph's notifications reach Doorstep's real webhook routes under uvicorn."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from fastapi import FastAPI

from bot.domain.model import Channel, OutboundMessage
from channels.base import TransientSendError
from channels.email.graph import GraphClient
from channels.email.graph_intake import GraphIntake, GraphMailboxSettings
from channels.email.graph_send import GraphSender
from channels.email.graph_webhook import graph_router
from channels.email.health import MailboxHealth
from channels.email.oauth import MsalTokenSource, OAuthSettings, TokenCache
from tests.support.fake_graph import FakeGraph, running_fake_graph, serve_asgi
from tests.support.fake_oauth import FakeOAuth

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

USER = "repairs@landlord.example"
TENANT = "contoso.onmicrosoft.com"
APP, SECRET = "graph-app", "graph secret"


def mail(n: int, **headers: str) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (
        f"From: Resident {n} <resident{n}@example.org>\r\nTo: {USER}\r\n"
        f"Subject: enquiry {n}\r\nMessage-ID: <graph-{n}@example.org>\r\n{extra}"
        f"Date: Mon, 03 Mar 2025 10:00:00 +0000\r\n\r\nMy boiler is broken.\r\n"
    ).encode()


class Store:
    """The intake's storage callbacks, deduping by message id as the database does."""

    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}
        self.store_calls = 0

    async def on_store(self, mailbox: str, items: list[tuple[str, bytes]]) -> None:
        self.store_calls += 1
        for key, raw in items:
            self.stored.setdefault(key, raw)

    async def known(self, mailbox: str, ids: list[str]) -> set[str]:
        return {i for i in ids if i in self.stored}

    @property
    def subjects(self) -> list[str]:
        return sorted(
            str(message_from_bytes(raw, policy=default_policy)["Subject"])
            for raw in self.stored.values()
        )


@pytest.fixture
def idp() -> Iterator[FakeOAuth]:
    with FakeOAuth(token_lifetime=3600) as fake:
        fake.add_client(APP, SECRET, mailbox=USER)
        yield fake


@pytest.fixture
def graph(idp: FakeOAuth) -> Iterator[FakeGraph]:
    with running_fake_graph(check_token=lambda t: bool(idp.introspect(t)["active"])) as fake:
        yield fake


@pytest.fixture
def webhook() -> Iterator[tuple[str, dict[str, object]]]:
    extras: dict[str, object] = {}
    api = FastAPI()
    api.include_router(graph_router(extras))
    with serve_asgi(api) as url:
        yield url, extras


def tokens(idp: FakeOAuth) -> TokenCache:
    settings = OAuthSettings(
        provider="microsoft",
        client_id=APP,
        client_secret=SECRET,
        tenant=TENANT,
        authority_host=idp.url,
        ca_file=idp.ca_file,
        timeout=5.0,
    )
    return TokenCache(MsalTokenSource(settings, purpose="graph"))


def client_factory(graph: FakeGraph, idp: FakeOAuth) -> Callable[[], GraphClient]:
    cache = tokens(idp)
    made: list[GraphClient] = []

    def make() -> GraphClient:
        client = GraphClient(graph.url, USER, cache, max_retry_wait=2.0)
        made.append(client)
        return client

    make.made = made  # type: ignore[attr-defined]
    return make


@asynccontextmanager
async def running(
    graph: FakeGraph,
    idp: FakeOAuth,
    webhook: tuple[str, dict[str, object]],
    store: Store,
    **overrides: object,
) -> AsyncIterator[GraphIntake]:
    url, extras = webhook
    fields: dict[str, object] = {
        "name": "repairs",
        "mailbox": USER,
        "notification_url": f"{url}/webhooks/graph/repairs",
        "lifecycle_url": f"{url}/webhooks/graph/repairs/lifecycle",
        "resync_seconds": 300.0,
        "backoff_initial": 0.2,
        "backoff_max": 0.5,
    }
    fields.update(overrides)
    intake = GraphIntake(
        [(GraphMailboxSettings(**fields), client_factory(graph, idp))],  # type: ignore[arg-type]
        store.on_store,
        store.known,
        MailboxHealth(),
    )
    extras["graph_intakes"] = {"repairs": intake}
    task = asyncio.create_task(intake.run())
    try:
        await intake.wait_connected("repairs", timeout=15)
        yield intake
    finally:
        intake.stop()
        await asyncio.wait_for(task, timeout=10)


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def deliver(graph: FakeGraph, raw: bytes, notify: int = 1) -> str:
    return await asyncio.to_thread(graph.deliver, USER, raw, notify=notify)


async def test_backlog_stored_on_start_then_notifications_deliver_promptly(
    graph: FakeGraph, idp: FakeOAuth, webhook: tuple[str, dict[str, object]]
) -> None:
    for n in range(1, 6):  # five already there: three delta pages of two
        graph.deliver(USER, mail(n), notify=0)
    store = Store()
    async with running(graph, idp, webhook, store):
        assert store.subjects == [f"enquiry {n}" for n in range(1, 6)]
        (sub,) = graph.live_subscriptions()
        assert sub.resource == f"users/{USER}/mailFolders('inbox')/messages"
        elapsed = await asyncio.wait_for(_timed_delivery(graph, store, 6), 10)
        # Push, not the periodic resync (300 s here); the figure is in `bench email_oauth`.
        assert elapsed < 5.0, f"notification to stored took {elapsed:.2f}s"
    assert len(store.stored) == 6
    assert not graph.live_subscriptions()  # deleted on stop


async def _timed_delivery(graph: FakeGraph, store: Store, n: int) -> float:
    started = time.monotonic()
    await deliver(graph, mail(n))
    await wait_until(lambda: len(store.stored) >= n)
    return time.monotonic() - started


async def test_a_notification_that_never_arrives_is_caught_by_delta(
    graph: FakeGraph, idp: FakeOAuth, webhook: tuple[str, dict[str, object]]
) -> None:
    store = Store()
    async with running(graph, idp, webhook, store, resync_seconds=1.0):
        await deliver(graph, mail(1), notify=0)  # Graph lost it
        await wait_until(lambda: len(store.stored) == 1, timeout=5)
    assert store.subjects == ["enquiry 1"]


async def test_missed_lifecycle_event_resyncs_at_once(
    graph: FakeGraph, idp: FakeOAuth, webhook: tuple[str, dict[str, object]]
) -> None:
    store = Store()
    async with running(graph, idp, webhook, store):
        await deliver(graph, mail(1), notify=0)
        await asyncio.to_thread(graph.lifecycle, "missed")
        await wait_until(lambda: len(store.stored) == 1, timeout=5)


async def test_duplicate_notifications_store_one_message(
    graph: FakeGraph, idp: FakeOAuth, webhook: tuple[str, dict[str, object]]
) -> None:
    store = Store()
    async with running(graph, idp, webhook, store) as intake:
        await deliver(graph, mail(1), notify=3)
        await wait_until(lambda: len(store.stored) == 1)
        await asyncio.sleep(0.3)
        # Delta lists it too: still one.
        box = intake.boxes["repairs"]
        box.lifecycle("missed")
        resyncs = box.resyncs
        await wait_until(lambda: box.resyncs > resyncs)
    assert len(store.stored) == 1
    mime_fetches = [r for r in graph.requests if r[1].endswith("/$value")]
    assert len(mime_fetches) == 1  # known ids are not fetched again


async def test_wrong_client_state_is_ignored(
    graph: FakeGraph, idp: FakeOAuth, webhook: tuple[str, dict[str, object]]
) -> None:
    store = Store()
    async with running(graph, idp, webhook, store):
        message_id = graph.deliver(USER, mail(1), notify=0)
        status = await asyncio.to_thread(graph.forged_notification, USER, message_id)
        assert status == 202  # answered, so a prober learns nothing
        await asyncio.sleep(0.5)
        assert store.stored == {}


async def test_subscription_about_to_expire_is_renewed(
    graph: FakeGraph, idp: FakeOAuth, webhook: tuple[str, dict[str, object]]
) -> None:
    graph.max_subscription_seconds = 3.0  # renewed with a third (1 s) left
    store = Store()
    async with running(graph, idp, webhook, store) as intake:
        await asyncio.sleep(5.0)  # past the first expiry
        assert graph.renewals >= 1  # a late renewal (a loaded machine) subscribes anew
        assert graph.live_subscriptions()
        await deliver(graph, mail(1))  # still notified
        await wait_until(lambda: len(store.stored) == 1, timeout=3)
        assert intake.boxes["repairs"].renewals >= 2


async def test_subscription_removed_subscribes_again_and_resyncs(
    graph: FakeGraph, idp: FakeOAuth, webhook: tuple[str, dict[str, object]]
) -> None:
    store = Store()
    async with running(graph, idp, webhook, store):
        await deliver(graph, mail(1), notify=0)
        await asyncio.to_thread(graph.lifecycle, "subscriptionRemoved")
        await wait_until(lambda: len(graph.live_subscriptions()) == 1, timeout=5)
        await wait_until(lambda: len(store.stored) == 1, timeout=5)
        await deliver(graph, mail(2))
        await wait_until(lambda: len(store.stored) == 2, timeout=5)


async def test_a_huge_mail_is_not_downloaded_but_its_header_is_stored(
    graph: FakeGraph, idp: FakeOAuth, webhook: tuple[str, dict[str, object]]
) -> None:
    from channels.email.parse import EmailParseError, parse_email

    store = Store()
    async with running(graph, idp, webhook, store, max_fetch_bytes=20_000):
        photo = mail(1).replace(b"My boiler", b"x" * 200_000 + b" My boiler")
        await deliver(graph, photo)
        await wait_until(lambda: len(store.stored) == 1)
    (raw,) = store.stored.values()
    assert len(raw) < 5_000 and b"X-Doorstep-Oversize: " in raw
    assert store.subjects == ["enquiry 1"]
    with pytest.raises(EmailParseError, match="too large"):
        parse_email(raw)  # quarantined with its size: staff see it came


async def test_throttling_is_waited_out(
    graph: FakeGraph, idp: FakeOAuth, webhook: tuple[str, dict[str, object]]
) -> None:
    graph.deliver(USER, mail(1), notify=0)
    graph.throttle(2, retry_after=0.5)  # the first delta call, twice
    store = Store()
    started = time.monotonic()
    async with running(graph, idp, webhook, store):
        assert len(store.stored) == 1
    assert time.monotonic() - started >= 1.0  # Retry-After honoured
    assert [r[2] for r in graph.requests[:2]] == [429, 429]


async def test_graph_down_at_start_is_shown_and_retried(
    idp: FakeOAuth, webhook: tuple[str, dict[str, object]]
) -> None:
    graph = FakeGraph(url="http://127.0.0.1:9/v1.0")  # nothing listens
    url, _ = webhook
    health = MailboxHealth()
    intake = GraphIntake(
        [
            (
                GraphMailboxSettings(
                    "repairs",
                    USER,
                    f"{url}/webhooks/graph/repairs",
                    f"{url}/webhooks/graph/repairs/lifecycle",
                    backoff_initial=0.1,
                    backoff_max=0.2,
                ),
                client_factory(graph, idp),
            )
        ],
        Store().on_store,
        Store().known,
        health,
    )
    task = asyncio.create_task(intake.run())
    try:
        await wait_until(lambda: (health.get("repairs") or _S()).failures >= 3)
        assert (health.get("repairs") or _S()).state == "unavailable"
        assert not task.done()
    finally:
        intake.stop()
        await asyncio.wait_for(task, timeout=10)


class _S:
    state = None
    failures = 0


def outbound(**overrides: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "channel": Channel.EMAIL,
        "recipient": "resident1@example.org",
        "body": "We have your message. Your reference is DS-1.",
        "subject": "enquiry 1",
        "idempotency_key": "ack-1",
        "in_reply_to": "graph-1@example.org",
        "references": ("older@example.org",),
        "kind": "acknowledgement",
    }
    fields.update(overrides)
    return OutboundMessage(**fields)  # type: ignore[arg-type]


async def test_graph_sender_keeps_threading_headers(graph: FakeGraph, idp: FakeOAuth) -> None:
    sender = GraphSender(client_factory(graph, idp), from_address=USER, from_name="Doorstep")
    result = await sender.send(outbound())
    (raw,) = graph.sent
    sent = message_from_bytes(raw, policy=default_policy)
    assert sent["In-Reply-To"] == "<graph-1@example.org>"
    assert "<older@example.org>" in str(sent["References"])
    assert sent["Message-ID"] == f"<{result.provider_id}>"
    assert sent["Auto-Submitted"] == "auto-replied"
    # Throttled beyond our waits: transient, stays in the outbox.
    graph.throttle(10, retry_after=0.1)
    with pytest.raises(TransientSendError):
        await sender.send(outbound(idempotency_key="ack-2"))
    graph._throttle.clear()
    async with sender.batch():
        await sender.send(outbound(idempotency_key="ack-3"))
        await sender.send(outbound(idempotency_key="ack-4"))
    assert len(graph.sent) == 3
