"""The routes Graph posts to, in-process (httpx's ASGI transport): the validation handshake,
clientState, and hostile bodies."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from channels.email.graph import GraphClient
from channels.email.graph_intake import GraphIntake, GraphMailboxSettings
from channels.email.graph_webhook import graph_router


@pytest.fixture
async def setup() -> AsyncIterator[tuple[httpx.AsyncClient, GraphIntake]]:
    async def store(mailbox: str, items: list[tuple[str, bytes]]) -> None:
        raise AssertionError("nothing is fetched in these tests")

    async def known(mailbox: str, ids: list[str]) -> set[str]:
        return set()

    def factory() -> GraphClient:
        raise AssertionError("no client in these tests")

    intake = GraphIntake(
        [(GraphMailboxSettings("repairs", "r@l.example", "https://x/n", "https://x/l"), factory)],
        store,
        known,
    )
    intake._loop = asyncio.get_running_loop()  # as run() would
    extras: dict[str, object] = {"graph_intakes": {"repairs": intake}}
    api = FastAPI()
    api.include_router(graph_router(extras))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api), base_url="http://doorstep"
    ) as client:
        yield client, intake


async def test_validation_token_is_echoed_as_plain_text(
    setup: tuple[httpx.AsyncClient, GraphIntake],
) -> None:
    client, _ = setup
    token = "Validation: Token+with/odd=chars & spaces"
    response = await client.post("/webhooks/graph/repairs", params={"validationToken": token})
    assert response.status_code == 200
    assert response.text == token
    assert response.headers["content-type"].startswith("text/plain")
    response = await client.post(
        "/webhooks/graph/repairs/lifecycle", params={"validationToken": "abc"}
    )
    assert response.text == "abc"


async def test_only_our_client_state_is_queued(
    setup: tuple[httpx.AsyncClient, GraphIntake],
) -> None:
    client, intake = setup
    box = intake.boxes["repairs"]
    item = {"clientState": box.client_state, "resourceData": {"id": "AAMk1"}}
    forged = {"clientState": "guess", "resourceData": {"id": "AAMk2"}}
    response = await client.post("/webhooks/graph/repairs", json={"value": [item, forged]})
    assert response.status_code == 202
    await asyncio.sleep(0)  # the queue is fed on the intake's loop
    assert box._pending.qsize() == 1 and box._pending.get_nowait() == "AAMk1"


async def test_lifecycle_events(setup: tuple[httpx.AsyncClient, GraphIntake]) -> None:
    client, intake = setup
    box = intake.boxes["repairs"]
    for event in ("missed", "reauthorizationRequired", "subscriptionRemoved"):
        await client.post(
            "/webhooks/graph/repairs/lifecycle",
            json={"value": [{"clientState": box.client_state, "lifecycleEvent": event}]},
        )
    await asyncio.sleep(0)
    assert box._resync.is_set() and box._renew_now.is_set() and box._resubscribe.is_set()


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'{"value": "x"}', b'{"value": [1, null, "x", {"resourceData": 5}]}'],
)
async def test_hostile_bodies_are_answered_and_ignored(
    setup: tuple[httpx.AsyncClient, GraphIntake], body: bytes
) -> None:
    client, intake = setup
    response = await client.post("/webhooks/graph/repairs", content=body)
    assert response.status_code in (202, 400)
    await asyncio.sleep(0)
    assert intake.boxes["repairs"]._pending.empty()


async def test_unknown_mailbox_and_huge_body(
    setup: tuple[httpx.AsyncClient, GraphIntake],
) -> None:
    client, _ = setup
    assert (await client.post("/webhooks/graph/nobody", json={"value": []})).status_code == 202
    huge = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    assert (await client.post("/webhooks/graph/repairs", content=huge)).status_code == 413
