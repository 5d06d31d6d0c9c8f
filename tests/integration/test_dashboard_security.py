"""Staff-side protection of residents' data (issue 13) over HTTP on real SQLite and
PostgreSQL: every staff route needs a session, need-to-know in the resident's history and
the live stream, forbidden pages as HTML, owners shown by name."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute, iter_route_contexts

from bot.storage import tables as t
from tests.integration.test_dashboard import Env, open_env

pytestmark = pytest.mark.integration

# The only staff routes a stranger may reach.
PUBLIC_STAFF_ROUTES = {("GET", "/staff/static/{name}"), ("GET", "/staff/login")}
PUBLIC_STAFF_POSTS = {
    "/staff/login",
    "/staff/login/code",
    "/staff/login/enrol",
}  # refused: needs its own login CSRF token and fields


@pytest.fixture
async def env(engine: sa.Engine) -> AsyncIterator[Env]:
    async with open_env(engine) as opened:
        yield opened


def staff_routes(api: Any) -> list[tuple[str, str]]:
    found = []
    for ctx in iter_route_contexts(api.routes):
        if isinstance(ctx.original_route, APIRoute) and (ctx.path or "").startswith("/staff"):
            found.extend((m, ctx.path) for m in sorted(ctx.methods or ()))
    return found


async def test_every_staff_route_needs_a_session(env: Env) -> None:
    routes = staff_routes(env.client._transport.app)  # type: ignore[attr-defined]
    assert ("GET", "/staff/live") in routes and len(routes) > 20
    env.client.cookies.clear()
    for method, path in routes:
        if (method, path) in PUBLIC_STAFF_ROUTES:
            continue
        url = re.sub(r"\{[^}]+\}", "1", path)
        answer = await env.client.request(method, url, data={"csrf": "x"}, follow_redirects=False)
        if method == "POST" and path in PUBLIC_STAFF_POSTS:
            assert answer.status_code in (403, 422), (method, url)  # no fields, or no token
            continue
        assert answer.status_code == 303, (method, url, answer.status_code)
        assert answer.headers["location"].startswith("/staff/login")


def _two_cases_of_one_resident(env: Env) -> tuple[int, int]:
    repair = env.receive("h1", body="My boiler is broken", **{"from": "jo@example.net"})
    harassment = env.receive(
        "h2",
        body="My ex-partner is harassing and threatening me at 12 Acacia Road",
        subject="My ex-partner is harassing and threatening me",
        **{"from": "jo@example.net"},
    )
    assert env.interaction(repair).contact_id == env.interaction(harassment).contact_id
    assert env.interaction(harassment).team == "asb"
    return repair, harassment


async def test_history_shows_only_what_the_viewer_may_open(env: Env) -> None:
    repair, harassment = _two_cases_of_one_resident(env)
    await env.login("rita@landlord.example")  # repairs agent
    page = await env.html(f"/staff/interactions/{repair}")
    history = page.split("history, every channel")[1]
    assert env.interaction(repair).reference in history
    assert env.interaction(harassment).reference not in page
    assert "harassing" not in page and "Acacia" not in page
    assert "1 other interaction of this resident is in queues you cannot open" in history
    await env.login("sam@landlord.example")  # the ASB agent: their case, not the repair
    history = (await env.html(f"/staff/interactions/{harassment}")).split("every channel")[1]
    assert env.interaction(harassment).reference in history
    assert env.interaction(repair).reference not in history
    assert "boiler" not in history
    await env.login("lee@landlord.example")  # a team lead sees everything
    history = (await env.html(f"/staff/interactions/{repair}")).split("every channel")[1]
    assert env.interaction(harassment).reference in history
    assert "queues you cannot open" not in history


async def test_live_stream_carries_only_cases_the_user_may_see(env: Env) -> None:
    repair, harassment = _two_cases_of_one_resident(env)
    await env.login("rita@landlord.example")
    async with env.client.stream("GET", "/staff/live?after=0&max_events=1") as response:
        body = "".join([part async for part in response.aiter_text()])
    assert f'"interaction": {repair}' in body
    # A later event on the ASB case alone: the repairs agent's stream stays silent.
    with env.engine.begin() as conn:
        last = conn.execute(sa.select(sa.func.max(t.events.c.id))).scalar_one()
        conn.execute(
            t.events.insert().values(
                interaction_id=harassment,
                kind="resident_replied",
                detail={},
                created_at=env.clock(),
            )
        )
    env.app.settings.dashboard.live_poll_seconds = 0.05
    received: list[str] = []

    async def read(stream_url: str) -> None:
        async with env.client.stream("GET", stream_url) as response:
            async for part in response.aiter_text():
                received.append(part)

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(read(f"/staff/live?after={last}&max_events=1"), timeout=1.0)
    assert "event: change" not in "".join(received)
    await env.login("sam@landlord.example")  # the ASB agent sees it
    async with env.client.stream("GET", f"/staff/live?after={last}&max_events=1") as response:
        body = "".join([part async for part in response.aiter_text()])
    assert f'"interaction": {harassment}' in body


async def test_forbidden_and_missing_pages_are_pages_for_a_browser(env: Env) -> None:
    _, harassment = _two_cases_of_one_resident(env)
    await env.login("rita@landlord.example")
    html = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    forbidden = await env.client.get(f"/staff/interactions/{harassment}", headers=html)
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"].startswith("text/html")
    assert "<h1>You cannot open this</h1>" in forbidden.text
    assert "Back to the queue" in forbidden.text and "Rita Repairs" in forbidden.text
    assert "harassing" not in forbidden.text and '{"detail"' not in forbidden.text
    assert forbidden.headers["cache-control"] == "no-store"
    missing = await env.client.get("/staff/interactions/999999", headers=html)
    assert missing.status_code == 404 and "No such interaction." in missing.text
    nowhere = await env.client.get("/staff/no-such-page", headers=html)
    assert nowhere.status_code == 404 and "<h1>Page not found</h1>" in nowhere.text
    admin_only = await env.client.get("/staff/users", headers=html)
    assert admin_only.status_code == 403 and "Only an admin can do that." in admin_only.text
    # A script that asks for JSON still gets JSON.
    scripted = await env.client.get(f"/staff/interactions/{harassment}")
    assert scripted.json() == {"detail": "Not in your queues."}


async def test_the_owner_shows_as_a_name(env: Env) -> None:
    repair, _ = _two_cases_of_one_resident(env)
    await env.login("rita@landlord.example")
    await env.post(f"/staff/interactions/{repair}/take")
    page = await env.html(f"/staff/interactions/{repair}")
    assert "<dt>Owner</dt><dd>Rita Repairs</dd>" in page
    assert "by: Rita Repairs" in page  # the timeline too
    queue = await env.html("/staff/?view=mine")
    # The queue shows the owner under the team, by name, never by address.
    assert '<span class="owner">Rita Repairs</span>' in queue
    assert "rita@landlord.example" not in queue
