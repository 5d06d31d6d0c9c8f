"""axe-core on every staff page and state, in a real browser (Debian's chromium driven by
Playwright) against the real app under uvicorn, at desktop and phone width (issues 18, 19).

States: sign-in, sign-in with an error, two-step set-up, two-step sign-in, the queue empty
and full (with its emergencies section), a case page (clocks, timeline, reply form, close
form) before and after a reply, the performance page with charts, quarantine, users, out of
office, the audit log, "Your account" and its two-step page, the 403 and 404 pages. A state
fails on any serious or critical axe violation (tests/support/axe.py). The queue at phone
width must not scroll sideways: its rows are cards.

Screenshots go to test-artifacts/screenshots/ (a11y-*.png), where a person can look at them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import uvicorn

from bot.bootstrap import App, bootstrap
from bot.domain.model import Channel
from bot.settings import Settings, Team
from bot.storage import tables as t
from bot.storage.db import create_engine
from bot.storage.tables_staff import staff_users
from bot.web.app import create_app
from bot.web.dashboard.auth import hash_password
from channels.base import CollectingSender
from tests.fakes import FakeClock
from tests.integration.helpers import deliver, json_decoder
from tests.support.axe import SEVERE, describe, violations
from tests.support.browser import browser, future_time, screenshot
from tests.support.net import free_port, wait_for_port
from tests.support.rules_classifier import RulesClassifier

pytestmark = pytest.mark.e2e

PASSWORD = "a long enough password"
WIDTHS = {"desktop": (1280, 900), "phone": (360, 740)}
TEAMS = [
    Team(id="customer-services", name="Customer Services team"),
    Team(id="repairs", name="Repairs team", email="repairs@landlord.example"),
    Team(id="asb", name="Community Safety team", email="asb@landlord.example"),
    Team(id="complaints", name="Complaints team", email="complaints@landlord.example"),
]
USERS = [
    ("rita@landlord.example", "Rita Repairs", "agent", "repairs"),
    ("ada@landlord.example", "Ada Admin", "admin", None),
]


MESSAGES = [
    (
        "email",
        "jo@example.net",
        "Water coming through the ceiling",
        "Water is pouring through the kitchen ceiling onto the light fitting and the sockets. "
        "My baby is asleep upstairs.\n\nThanks\nJo\n\n"
        "On Mon, 7 Dec 2026 at 09:00, Repairs <repairs@landlord.example> wrote:\n"
        "> Thank you for your email. Your reference is DS-OLD-1.\n",
    ),
    ("sms", "+447700900123", None, "My boiler is broken again, no hot water. I'm 82 and disabled"),
    ("webchat", "chat-cy-1", None, "Mae dŵr yn gollwng drwy'r nenfwd yn yr ystafell ymolchi"),
    ("social", "fb-2001", None, "My neighbour plays loud music every night until 3am"),
    (
        "email",
        "kasia@example.net",
        "Ogrzewanie",
        "Dzień dobry, od tygodnia nie mam ogrzewania w mieszkaniu i jest bardzo zimno",
    ),
    (
        "email",
        "sam@example.net",
        "Complaint",
        "I want to complain: third time the repair was missed",
    ),
    ("sms", "+447700900999", None, "hi can someone ring me back about my account"),
]


@dataclass
class Server:
    app: App
    clock: FakeClock
    url: str


def _seed_performance(engine: sa.Engine, now: datetime) -> None:
    """Closed cases last month, so the performance page draws its charts."""
    month = (now.replace(day=1) - timedelta(days=20)).replace(hour=12)
    with engine.begin() as conn:
        contact = conn.execute(t.contacts.insert().values(name="R", needs=[])).inserted_primary_key[
            0
        ]
        for n, (policy, outcome, channel) in enumerate(
            [
                ("ack-2", "met", "email"),
                ("ack-2", "met", "sms"),
                ("handoff-3", "met", "webchat"),
                ("ack-2", "not_met", "email"),
                ("awaab-emergency", "not_met", "email"),
            ]
        ):
            case = conn.execute(
                t.interactions.insert().values(
                    reference=f"DS-PERF-{n}",
                    contact_id=contact,
                    channel=channel,
                    topic="repair",
                    urgency="routine",
                    team="repairs",
                    status="closed",
                    created_at=month + timedelta(days=n),
                    updated_at=month + timedelta(days=n),
                )
            ).inserted_primary_key[0]
            start = month + timedelta(days=n)
            conn.execute(
                t.clocks.insert().values(
                    interaction_id=case,
                    policy=policy,
                    promise="X",
                    channel=channel,
                    topic="repair",
                    started_at=start,
                    due_at=start + timedelta(days=2),
                    warn_at=start + timedelta(days=2),
                    stopped_at=start + timedelta(days=1 + n % 3),
                    outcome=outcome,
                    is_open=False,
                    paused_seconds=0.0,
                    extended_days=0,
                )
            )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    settings = Settings(
        teams=TEAMS,
        routing={"repair": "repairs", "asb": "asb", "complaint": "complaints"},
        secret_key="a11y-secret",
        performance={"homes": 1200},
    )
    clock = FakeClock(future_time(settings, office_open=True, weekday=1, hour=10))
    engine = create_engine(f"sqlite:///{tmp_path / 'd.db'}")
    app = bootstrap(
        settings,
        engine=engine,
        classifier=RulesClassifier(),
        senders=[CollectingSender(c) for c in Channel],
        decoders={c: json_decoder for c in Channel},
        turn_handlers={},
        now=clock,
    )
    with engine.begin() as conn:
        conn.execute(
            staff_users.insert(),
            [
                {
                    "email": email,
                    "name": name,
                    "role": role,
                    "team": team,
                    "password_hash": hash_password(PASSWORD),
                    "active": True,
                    "created_at": clock(),
                }
                for email, name, role, team in USERS
            ],
        )
    _seed_performance(engine, clock())
    for n, (channel, sender, subject, body) in enumerate(MESSAGES):
        fields: dict[str, Any] = {"channel": channel, "from": sender, "body": body}
        if subject:
            fields["subject"] = subject
        deliver(app, f"a11y-{n}", at=clock().isoformat(), **fields)
    app.pipeline.store_raw(Channel.EMAIL, "test", "a11y-broken", b"\xff not a message")
    app.pipeline.process_pending()
    port = free_port()
    config = uvicorn.Config(
        create_app(app), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    assert wait_for_port("127.0.0.1", port), "the dashboard did not start"
    try:
        yield Server(app, clock, f"http://127.0.0.1:{port}")
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        app.close()


class Audit:
    """axe on each state; failures are collected so one run reports every page."""

    def __init__(self, width_name: str) -> None:
        self.width_name = width_name
        self.failures: list[str] = []
        self.checked: list[str] = []

    def check(self, page: Any, state: str) -> None:
        page.wait_for_load_state("load")
        every = violations(page, impacts=("minor", "moderate", *SEVERE))
        found = [v for v in every if v["impact"] in SEVERE]
        self.checked.append(state)
        if found:
            self.failures.append(f"[{self.width_name}] {state} ({page.url}):\n{describe(found)}")
        small = _small_targets(page)
        if small:
            self.failures.append(f"[{self.width_name}] {state} targets under 24px: {small}")
        # Landmarks, heading order, one main: axe's best-practice rules (axe is loaded now).
        practice = page.evaluate(
            """async () => (await axe.run(document, {runOnly: {type: 'tag',
                values: ['best-practice']}})).violations"""
        )
        serious_practice = [v for v in practice if v.get("impact") in SEVERE]
        if serious_practice:
            self.failures.append(
                f"[{self.width_name}] {state} best practice:\n{describe(serious_practice)}"
            )
        milder = [v for v in every + practice if v.get("impact") not in SEVERE]
        if milder:  # not failures; printed so that they are seen (pytest -s)
            print(f"[{self.width_name}] {state}: {describe(milder)}")
        screenshot(page, f"a11y-{self.width_name}-{state}", full_page=True)


def _sign_in(page: Any, server: Server, email: str) -> None:
    page.goto(f"{server.url}/staff/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()


def _ids(server: Server) -> dict[str, int]:
    i = t.interactions.c
    with server.app.engine.connect() as conn:
        return {
            str(r.topic) + ":" + str(r.channel): int(r.id)
            for r in conn.execute(sa.select(i.id, i.topic, i.channel).where(i.status != "closed"))
        }


def _no_sideways_scroll(page: Any, width: int) -> list[str]:
    if page.evaluate("() => document.documentElement.scrollWidth") <= width:
        return []
    wide: list[str] = page.evaluate(
        f"""() => Array.from(document.querySelectorAll('body *'))
            .filter(el => el.getBoundingClientRect().right > {width} + 1)
            .slice(0, 5).map(el => el.tagName + '.' + el.className)"""
    )
    return wide


def _small_targets(page: Any) -> list[str]:
    """WCAG 2.5.8: controls at least 24 by 24 CSS pixels (links inside a sentence, in a
    <p>, are the criterion's inline exception; the skip link is off screen until focused)."""
    small: list[str] = page.evaluate(
        """() => Array.from(document.querySelectorAll(
              'a[href], button, input:not([type=hidden]), select, textarea'))
            .filter(el => !el.closest('p') && !el.classList.contains('skip-link'))
            .filter(el => el.offsetParent !== null)
            .map(el => [el, el.getBoundingClientRect()])
            .filter(([el, r]) => r.width < 24 || r.height < 24)
            .map(([el, r]) => `${el.tagName} "${el.textContent.trim().slice(0, 30)}" `
                 + `${Math.round(r.width)}x${Math.round(r.height)}`)"""
    )
    return small


def _focus_ring(page: Any) -> list[str]:
    """WCAG 2.4.7: Tab through the page; every stop shows a solid outline of 2px or more."""
    missing: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        found = page.evaluate(
            """() => { const el = document.activeElement;
                if (!el || el === document.body) return null;
                const s = getComputedStyle(el);
                return [el.tagName + ' ' + (el.textContent || el.name || '').trim().slice(0, 30),
                        s.outlineStyle, parseFloat(s.outlineWidth)]; }"""
        )
        if found is None:
            break
        name, style, width = found
        if style in ("none", "hidden") or width < 2:
            missing.append(name)
    return missing


@pytest.mark.parametrize("width_name", list(WIDTHS))
def test_every_staff_page_passes_axe(server: Server, width_name: str) -> None:
    import pyotp

    width, height = WIDTHS[width_name]
    audit = Audit(width_name)
    ids = _ids(server)
    with browser() as chrome:
        # axe is injected as an inline script, which the staff CSP (rightly) refuses.
        context = chrome.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
        page = context.new_page()

        # Sign-in, and its error.
        page.goto(f"{server.url}/staff/login")
        audit.check(page, "sign-in")
        page.get_by_label("Email address").fill("rita@landlord.example")
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("alert").wait_for()
        audit.check(page, "sign-in-error")

        # An agent: the queue empty (their own cases) and full (their team's).
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Email address").fill("rita@landlord.example")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{server.url}/staff/")
        page.goto(f"{server.url}/staff/?view=mine")
        assert "Nothing with a running clock here." in page.locator("main").inner_text()
        audit.check(page, "queue-empty")
        page.goto(f"{server.url}/staff/")
        page.get_by_role("heading", name="Emergencies and 24-hour clocks").first.wait_for()
        assert _no_sideways_scroll(page, width) == []
        assert _focus_ring(page) == []
        audit.check(page, "queue-full")

        # A case: clocks, timeline, reply and close forms; then after a reply.
        page.goto(f"{server.url}/staff/interactions/{ids['repair:email']}")
        page.get_by_role("heading", name="Conversation").wait_for()
        assert page.get_by_role("button", name="Close").count() == 1
        audit.check(page, "case")
        page.get_by_label("Reply to the resident by email").fill("We are on our way.")
        page.get_by_role("button", name="Send reply").click()
        page.get_by_role("status").filter(has_text="Reply sent.").wait_for()
        assert _no_sideways_scroll(page, width) == []
        audit.check(page, "case-replied")

        # The same pages under the real CSP: nothing refused (no inline style or script).
        strict = chrome.new_context(
            viewport={"width": width, "height": height}, storage_state=context.storage_state()
        )
        refused: list[str] = []
        checked = strict.new_page()
        checked.on(
            "console",
            lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
        )
        for path in ("/staff/", f"/staff/interactions/{ids['repair:email']}"):
            checked.goto(server.url + path)
            checked.wait_for_load_state("load")
        strict.close()
        assert refused == []

        # The error pages.
        answer = page.goto(f"{server.url}/staff/interactions/{ids['asb:social']}")
        assert answer is not None and answer.status == 403
        audit.check(page, "error-403")
        answer = page.goto(f"{server.url}/staff/no-such-page")
        assert answer is not None and answer.status == 404
        audit.check(page, "error-404")

        page.goto(f"{server.url}/staff/performance")
        audit.check(page, "performance-agent")
        page.goto(f"{server.url}/staff/account")
        audit.check(page, "account")
        page.goto(f"{server.url}/staff/account/totp")
        audit.check(page, "account-totp")
        _sign_out(page)

        # An admin: two-step set-up on first sign-in, then every admin page.
        _sign_in(page, server, "ada@landlord.example")
        page.get_by_role("heading", name="Set up two-step sign-in").wait_for()
        audit.check(page, "two-step-set-up")
        secret = page.locator("code[data-secret]").inner_text().replace(" ", "")
        page.get_by_label("The 6-digit code from your app").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="Turn on two-step sign-in").click()
        page.wait_for_url(f"{server.url}/staff/")
        page.goto(f"{server.url}/staff/?view=all")
        page.get_by_role("heading", name="Emergencies and 24-hour clocks").first.wait_for()
        assert _no_sideways_scroll(page, width) == []
        audit.check(page, "queue-everything")
        if width_name == "phone":
            screenshot(page, "a11y-phone-queue-top", full_page=False)
        for path, state in (
            ("/staff/performance", "performance"),
            ("/staff/quarantine", "quarantine"),
            ("/staff/users", "users"),
            ("/staff/officers", "out-of-office"),
            ("/staff/audit", "audit-log"),
            ("/staff/chats", "live-chat-queue"),
            ("/staff/health", "channel-health"),
            (f"/staff/interactions/{ids['complaint:email']}", "case-complaint"),
        ):
            answer = page.goto(server.url + path)
            assert answer is not None and answer.status == 200, path
            audit.check(page, state)
        _sign_out(page)

        # Two-step sign-in (a code works once: let the same one in again for the test).
        with server.app.engine.begin() as conn:
            conn.execute(
                staff_users.update()
                .where(staff_users.c.email == "ada@landlord.example")
                .values(totp_last_step=None)
            )
        _sign_in(page, server, "ada@landlord.example")
        page.get_by_role("heading", name="Two-step sign-in").wait_for()
        audit.check(page, "two-step-sign-in")
        page.get_by_label("The 6-digit code from your authenticator app").fill("000000")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("alert").wait_for()
        audit.check(page, "two-step-sign-in-error")
        context.close()

    assert len(audit.checked) >= 20
    assert not audit.failures, "\n\n".join(audit.failures)
