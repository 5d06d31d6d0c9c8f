"""The JSON API needs credentials (issue 13): every /api route, enumerated from the app so a
new route cannot be forgotten, refuses a caller with no credential, a wrong one, a revoked
one and one of another scope; a staff session reads only what its owner may open; the
OpenAPI pages are off unless configured. Real SQLite and PostgreSQL, httpx in-process."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute, iter_route_contexts

from bot.settings import Api
from bot.storage.tables_staff import staff_audit
from bot.web.api_auth import SCOPE_MARKER
from bot.web.api_tokens import add_token, revoke_token
from bot.web.app import create_app
from tests.fakes import FakeClock
from tests.integration.helpers import make_app
from tests.integration.test_dashboard import MONDAY, Env, dashboard_settings, open_env

pytestmark = pytest.mark.integration


@pytest.fixture
async def env(engine: sa.Engine) -> AsyncIterator[Env]:
    async with open_env(engine) as opened:
        yield opened


def api_routes(api: Any) -> list[Any]:
    """Every route under /api, routers included (FastAPI keeps included routers nested)."""
    found = []
    for ctx in iter_route_contexts(api.routes):
        if isinstance(ctx.original_route, APIRoute) and (ctx.path or "").startswith("/api"):
            found.append(ctx)
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "DS-2026-000001", path)


def scopes_of(route: Any) -> set[str]:
    found: set[str] = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        scope = getattr(dep.call, SCOPE_MARKER, None)
        if scope is not None:
            found.add(scope)
        stack.extend(dep.dependencies)
    return found


def make_token(env: Env, name: str, scope: str) -> str:
    with env.engine.begin() as conn:
        return add_token(conn, name=name, scope=scope, now=datetime.now(UTC))[1]


async def test_every_api_route_declares_a_scope_and_refuses_strangers(env: Env) -> None:
    api = env.client._transport.app  # type: ignore[attr-defined]
    routes = api_routes(api)
    # The areas that must be there: a refactor that drops them should fail here too.
    paths = {r.path for r in routes}
    assert {"/api/status", "/api/quarantine", "/api/interactions/{reference}"} <= paths
    assert any(p.startswith("/api/appointments") for p in paths)
    assert any(p.startswith("/api/assistant") for p in paths)
    wrong = make_token(env, "revoked-one", "read")
    with env.engine.begin() as conn:
        revoke_token(conn, "revoked-one", now=datetime.now(UTC))
    env.client.cookies.clear()
    for route in routes:
        assert scopes_of(route), f"{route.path} declares no scope (bot.web.api_auth.require)"
        for method in sorted(route.methods):
            url = concrete(route.path)
            for headers in (
                {},
                {"Authorization": "Bearer nope"},
                {"Authorization": "Basic YWRtaW46YWRtaW4="},
                {"Authorization": f"Bearer {wrong}"},
                {"Cookie": "ds_staff=forged-session"},
            ):
                answer = await env.client.request(method, url, headers=headers, json={})
                assert answer.status_code == 401, (method, url, headers, answer.text)
                assert answer.headers["cache-control"] == "no-store"
    # A path that does not exist is not revealed as such to a stranger either.
    assert (await env.client.get("/api/nothing-here")).status_code == 401
    # /healthz stays open for load balancers.
    assert (await env.client.get("/healthz")).status_code == 200


async def test_tokens_are_scoped(env: Env) -> None:
    read = {"Authorization": f"Bearer {make_token(env, 'monitoring', 'read')}"}
    appts = {"Authorization": f"Bearer {make_token(env, 'repairs-system', 'appointments')}"}
    assistant = {"Authorization": f"Bearer {make_token(env, 'rasa-actions', 'assistant')}"}
    env.client.cookies.clear()
    assert (await env.client.get("/api/status", headers=read)).status_code == 200
    assert (await env.client.get("/api/status", headers=appts)).status_code == 403
    assert (await env.client.get("/api/status", headers=assistant)).status_code == 403
    # The repairs system's token cannot drive the assistant, nor the reverse.
    organisation = "/api/assistant/organisation"
    assert (await env.client.get(organisation, headers=assistant)).status_code == 200
    assert (await env.client.get(organisation, headers=appts)).status_code == 403
    assert (await env.client.get(organisation, headers=read)).status_code == 403
    assert (await env.client.get("/api/appointments/J-1", headers=assistant)).status_code == 403
    assert (await env.client.get("/api/appointments/J-1", headers=appts)).status_code == 404
    # Revoked: refused at once.
    with env.engine.begin() as conn:
        revoke_token(conn, "monitoring", now=datetime.now(UTC))
    assert (await env.client.get("/api/status", headers=read)).status_code == 401


async def test_a_token_read_of_a_case_is_audited(env: Env) -> None:
    interaction = env.receive("api1", body="My boiler is broken")
    reference = env.interaction(interaction).reference
    read = {"Authorization": f"Bearer {make_token(env, 'monitoring', 'read')}"}
    env.client.cookies.clear()
    found = await env.client.get(f"/api/interactions/{reference}", headers=read)
    assert found.status_code == 200 and found.json()["team"] == "repairs"
    with env.engine.connect() as conn:
        rows = conn.execute(sa.select(staff_audit)).all()
    assert [(r.actor, r.action, r.interaction_id) for r in rows] == [
        ("token:monitoring", "api_read", interaction)
    ]


async def test_a_staff_session_reads_only_what_its_owner_may_open(env: Env) -> None:
    repair = env.receive("s1", body="My boiler is broken")
    noise = env.receive("s2", body="The neighbour noise is awful", **{"from": "b@example.net"})
    await env.login("rita@landlord.example")  # agent, repairs
    mine = await env.client.get(f"/api/interactions/{env.interaction(repair).reference}")
    assert mine.status_code == 200
    other = await env.client.get(f"/api/interactions/{env.interaction(noise).reference}")
    assert other.status_code == 404  # not "forbidden": its existence is not confirmed
    assert (await env.client.get("/api/status")).status_code == 200
    assert (await env.client.get("/api/quarantine")).status_code == 403
    assert (await env.client.get("/api/clocks/attention")).status_code == 403
    # A session never writes through the API (that is what a cross-site request would carry).
    assert (await env.client.get("/api/assistant/organisation")).status_code == 403
    await env.login("admin@landlord.example")
    assert (await env.client.get("/api/quarantine")).status_code == 200
    assert (await env.client.get("/api/clocks/attention")).status_code == 200


async def test_the_deprecated_single_token_still_works_for_its_two_systems(
    engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    settings = dashboard_settings()
    settings.api_token = "the-old-shared-token"
    app, _ = make_app(engine, FakeClock(MONDAY), settings, turn_handlers={})
    with caplog.at_level(logging.WARNING, logger="bot.web.api_auth"):
        transport = httpx.ASGITransport(app=create_app(app, run_workers=False))
    assert "DOORSTEP_API_TOKEN is deprecated" in caplog.text
    assert "doorstep token add" in caplog.text
    old = {"Authorization": "Bearer the-old-shared-token"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.get("/api/assistant/organisation", headers=old)).status_code == 200
        assert (await client.get("/api/appointments/J-1", headers=old)).status_code == 404
        assert (await client.get("/api/status", headers=old)).status_code == 403


@pytest.mark.parametrize("docs", [False, True])
async def test_openapi_pages_are_off_unless_configured(engine: sa.Engine, docs: bool) -> None:
    settings = dashboard_settings()
    settings.api = Api(docs=docs)
    app, _ = make_app(engine, FakeClock(MONDAY), settings, turn_handlers={})
    transport = httpx.ASGITransport(app=create_app(app, run_workers=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert (await client.get(path)).status_code == (200 if docs else 404), path


async def test_staff_pages_carry_the_security_headers(env: Env) -> None:
    page = await env.client.get("/staff/login")
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"
    await env.login("rita@landlord.example")
    queue = await env.client.get("/staff/")
    assert queue.headers["cache-control"] == "no-store"
    # Static files keep their own short cache.
    css = await env.client.get("/staff/static/dashboard.css")
    assert css.headers["cache-control"] == "max-age=300"
