"""Staff authentication fit for residents' data (issue 13), over HTTP on real SQLite and
PostgreSQL: the TOTP second factor (required for admins, configurable for all), password
change and admin reset, throttling that slows a guesser but never locks a colleague out,
the Secure cookie on https, no staff address in a redirect, and the audit log."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pyotp
import pytest
import sqlalchemy as sa

from bot.storage.tables_staff import staff_audit, staff_users
from tests.integration.test_dashboard import (
    CSRF_RE,
    PASSWORD,
    Env,
    dashboard_settings,
    open_env,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def env(engine: sa.Engine) -> AsyncIterator[Env]:
    async with open_env(engine) as opened:
        yield opened


def fields_of(page: str, *names: str) -> dict[str, str]:
    wanted = "|".join(names)
    return dict(re.findall(rf'name="({wanted})" value="([^"]*)"', page))


async def password_step(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> Any:
    client.cookies.clear()
    form = await client.get("/staff/login")
    token = CSRF_RE.search(form.text)
    assert token is not None
    return await client.post(
        "/staff/login",
        data={"email": email, "password": password, "csrf": token.group(1)},
        follow_redirects=False,
    )


def audit_rows(env: Env) -> list[Any]:
    with env.engine.connect() as conn:
        return list(conn.execute(sa.select(staff_audit).order_by(staff_audit.c.id)).all())


# ---- TOTP ------------------------------------------------------------------------------


async def test_an_admin_must_set_up_the_second_factor_before_anything_else(env: Env) -> None:
    client = env.client
    first = await password_step(client, "admin@landlord.example")
    assert first.status_code == 303
    assert first.headers["location"].startswith("/staff/login/enrol")
    assert "ds_staff=" not in first.headers.get("set-cookie", "")  # no session yet
    assert (await client.get("/staff/users", follow_redirects=False)).status_code == 303
    page = (await client.get(first.headers["location"])).text
    assert "data:image/svg+xml" in page  # the QR code
    fields = fields_of(page, "csrf", "secret", "secret_sig", "next")
    grouped = re.search(r"<code data-secret>([A-Z2-7 ]+)</code>", page)
    assert grouped is not None and grouped.group(1).replace(" ", "") == fields["secret"]
    wrong = await client.post("/staff/login/enrol", data={**fields, "code": "000000"})
    assert wrong.status_code == 401 and "not right" in wrong.text
    forged = {**fields, "secret": pyotp.random_base32()}
    code = pyotp.TOTP(forged["secret"]).now()
    refused = await client.post("/staff/login/enrol", data={**forged, "code": code})
    assert refused.status_code == 403  # a secret the server did not offer is refused
    code = pyotp.TOTP(fields["secret"]).now()
    done = await client.post(
        "/staff/login/enrol", data={**fields, "code": code}, follow_redirects=False
    )
    assert done.status_code == 303 and "ds_staff=" in done.headers["set-cookie"]
    assert (await client.get("/staff/users")).status_code == 200

    # Next time: the code step, and each code works once.
    again = await password_step(client, "admin@landlord.example")
    assert again.headers["location"].startswith("/staff/login/code")
    page = (await client.get(again.headers["location"])).text
    step = fields_of(page, "csrf", "next")
    replay = await client.post("/staff/login/code", data={**step, "code": code})
    assert replay.status_code == 401  # the enrolment's code, used again
    with env.engine.connect() as conn:
        last = conn.execute(
            sa.select(staff_users.c.totp_last_step).where(
                staff_users.c.email == "admin@landlord.example"
            )
        ).scalar_one()
    fresh = pyotp.TOTP(fields["secret"]).at((last + 1) * 30)
    ok = await client.post(
        "/staff/login/code", data={**step, "code": fresh}, follow_redirects=False
    )
    assert ok.status_code == 303 and "ds_staff=" in ok.headers["set-cookie"]
    actions = [r.action for r in audit_rows(env)]
    assert actions.count("totp_enrolled") == 1 and actions.count("signed_in") == 2


async def test_the_code_step_cannot_be_skipped_or_forged(env: Env) -> None:
    await env.login("admin@landlord.example")  # enrolled
    client = env.client
    await password_step(client, "admin@landlord.example")
    client.cookies.set("ds_mfa", "1.9999999999.forged", path="/staff")
    page = await client.get("/staff/login/code", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/staff/login"
    client.cookies.clear()
    assert (await client.get("/staff/", follow_redirects=False)).status_code == 303


async def test_agents_choose_unless_it_is_required_for_all(engine: sa.Engine) -> None:
    async with open_env(engine) as env:
        assert (await env.login("rita@landlord.example")).headers["location"] == "/staff/"
        account = await env.html("/staff/account")
        assert "Set up two-step sign-in" in account
        page = await env.html("/staff/account/totp")
        fields = fields_of(page, "csrf", "secret", "secret_sig")
        code = pyotp.TOTP(fields["secret"]).now()
        done = await env.client.post(
            "/staff/account/totp", data={**fields, "code": code}, follow_redirects=True
        )
        assert "Two-step sign-in is on." in done.text
        assert (
            (await password_step(env.client, "rita@landlord.example"))
            .headers["location"]
            .startswith("/staff/login/code")
        )


async def test_the_second_factor_can_be_required_for_all(engine: sa.Engine) -> None:
    settings = dashboard_settings()
    settings.dashboard.totp_required_for_all = True
    async with open_env(engine, settings) as env:
        first = await password_step(env.client, "sam@landlord.example")
        assert first.headers["location"].startswith("/staff/login/enrol")


# ---- passwords -------------------------------------------------------------------------


async def test_changing_the_password_ends_the_other_sessions(env: Env) -> None:
    other = httpx.AsyncClient(transport=env.client._transport, base_url="http://testserver")
    async with other:
        await password_step(other, "rita@landlord.example")
        assert (await other.get("/staff/", follow_redirects=False)).status_code == 200
        await env.login("rita@landlord.example")
        wrong = await env.post(
            "/staff/account/password",
            current="nope",
            new="a new long password",
            again="a new long password",
        )
        assert "current password is not right" in wrong.text
        mismatch = await env.post(
            "/staff/account/password", current=PASSWORD, new="a new long password", again="other"
        )
        assert "do not match" in mismatch.text
        short = await env.post(
            "/staff/account/password", current=PASSWORD, new="short", again="short"
        )
        assert "at least 10 characters" in short.text
        done = await env.post(
            "/staff/account/password",
            current=PASSWORD,
            new="a new long password",
            again="a new long password",
        )
        assert "Password changed" in done.text
        assert (await env.client.get("/staff/", follow_redirects=False)).status_code == 200
        assert (await other.get("/staff/", follow_redirects=False)).status_code == 303
    assert (await env.login("rita@landlord.example")).status_code == 401
    assert (await env.login("rita@landlord.example", "a new long password")).status_code == 303


async def test_an_admin_resets_a_password_shown_once_never_in_a_url(env: Env) -> None:
    with env.engine.connect() as conn:
        rita = conn.execute(
            sa.select(staff_users.c.id).where(staff_users.c.email == "rita@landlord.example")
        ).scalar_one()
    await env.login("admin@landlord.example")
    reset = await env.client.post(
        f"/staff/users/{rita}/reset", data={"csrf": await env.csrf()}, follow_redirects=False
    )
    assert reset.status_code == 200  # a page, not a redirect carrying the password
    found = re.search(r"<p><code>([^<]+)</code></p>", reset.text)
    assert found is not None and "Rita Repairs" in reset.text
    temporary = found.group(1)
    again = await env.html("/staff/users")
    assert temporary not in again  # shown once
    # The temporary password opens only the account page.
    signed = await env.login("rita@landlord.example", temporary)
    assert signed.headers["location"] == "/staff/account"
    assert (await env.client.get("/staff/", follow_redirects=False)).headers[
        "location"
    ] == "/staff/account"
    assert (await env.client.get("/api/status")).status_code == 401
    await env.client.post(
        "/staff/account/password",
        data={
            "csrf": await env.csrf("/staff/account"),
            "current": temporary,
            "new": "rita's own new password",
            "again": "rita's own new password",
        },
    )
    assert (await env.client.get("/staff/", follow_redirects=False)).status_code == 200
    assert "password_reset" in [r.action for r in audit_rows(env)]


# ---- throttling --------------------------------------------------------------------------


async def test_a_stranger_guessing_cannot_lock_a_colleague_out(env: Env) -> None:
    app = env.client._transport.app  # type: ignore[attr-defined]
    stranger = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 4000)),
        base_url="http://testserver",
    )
    async with stranger:
        answers = [
            (await password_step(stranger, "rita@landlord.example", "guess")).status_code
            for _ in range(6)
        ]
        assert answers[:4] == [401, 401, 401, 401]
        slowed = await password_step(stranger, "rita@landlord.example", PASSWORD)
        assert slowed.status_code == 429 and "Wait" in slowed.text  # even the right password
    # Rita, at her own computer, signs in at once.
    assert (await env.login("rita@landlord.example")).status_code == 303


# ---- cookies, redirects, headers -----------------------------------------------------------


async def test_the_session_cookie_is_secure_when_the_public_url_is_https(engine: sa.Engine) -> None:
    settings = dashboard_settings()
    settings.public_url = "https://doorstep.landlord.example"
    async with (
        open_env(engine, settings) as env,
        httpx.AsyncClient(transport=env.client._transport, base_url="https://testserver") as tls,
    ):
        done = await password_step(tls, "rita@landlord.example")
        cookie = done.headers["set-cookie"]
        assert "ds_staff=" in cookie and "Secure" in cookie and "HttpOnly" in cookie


async def test_no_redirect_carries_a_staff_address(env: Env) -> None:
    await env.login("admin@landlord.example")
    locations: list[str] = []
    for data in (
        {"email": "rita@landlord.example", "name": "Rita", "role": "agent", "team": "repairs"},
        {"email": "not-an-address", "name": "X", "role": "agent", "team": "repairs"},
    ):
        answer = await env.client.post(
            "/staff/users",
            data={**data, "password": PASSWORD, "csrf": await env.csrf()},
            follow_redirects=False,
        )
        locations.append(answer.headers["location"])
        shown = await env.client.get(answer.headers["location"])
        assert "already exists" in shown.text or "not an email address" in shown.text
    assert locations == ["/staff/users", "/staff/users"]
    assert all("@" not in loc and "msg" not in loc for loc in locations)


# ---- the audit log ---------------------------------------------------------------------


async def test_views_and_actions_are_audited_and_admins_read_them(env: Env) -> None:
    repair = env.receive("au1", body="My boiler is broken")
    noise = env.receive("au2", body="The neighbour noise is awful", **{"from": "b@example.net"})
    await env.login("rita@landlord.example")
    await env.html(f"/staff/interactions/{repair}")
    await env.html(f"/staff/interactions/{repair}")  # the same look, not recorded twice
    await env.post(f"/staff/interactions/{repair}/reply", text="We will call you today.")
    await env.client.get(f"/staff/interactions/{noise}")  # refused, and recorded
    assert (await env.client.get("/staff/audit")).status_code == 403
    rows = [
        (r.actor, r.action, r.interaction_id)
        for r in audit_rows(env)
        if r.actor == "rita@landlord.example" and r.interaction_id is not None
    ]
    assert rows == [
        ("rita@landlord.example", "viewed", repair),
        ("rita@landlord.example", "replied", repair),
        ("rita@landlord.example", "view_refused", noise),
    ]
    await env.login("admin@landlord.example")
    page = await env.html("/staff/audit?actor=rita@landlord.example")
    assert page.count('data-action="viewed"') == 1
    assert 'data-action="replied"' in page and 'data-action="view_refused"' in page
    assert env.interaction(repair).reference in page
    by_case = await env.html(f"/staff/audit?reference={env.interaction(noise).reference}")
    assert 'data-action="view_refused"' in by_case and 'data-action="replied"' not in by_case
    assert "audit_viewed" in [r.action for r in audit_rows(env)]
