"""Live chat in real browsers (HANDOFF): an officer in the dashboard and a resident in the
web chat widget talk in real time, against the real app under uvicorn with its workers
(the live-chat worker, the outbox, the inbound processor) on a SQLite file, in office hours.

1. The officer signs in, opens Live chat and sets herself Available.
2. The resident reports a broken boiler and presses "Talk to a person": she is told she is
   next in the queue.
3. The chat appears in the officer's live queue without a reload; she takes it; the
   resident is told "Jane from the Repairs team has joined the chat."
4. What the officer types appears in the resident's widget, and what the resident types
   appears in the officer's view, each without a reload; the assistant stays quiet.
Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.settings import LiveChat, Settings, Team
from bot.storage.tables_staff import staff_users
from bot.web.dashboard.auth import hash_password
from tests.support.browser import browser, running_app, screenshot

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse battery staple 42"


def _settings() -> Settings:
    return Settings(
        teams=[Team(id="repairs", name="Repairs team")],
        routing={"repair": "repairs"},
        secret_key="e2e-live-chat",
        live_chat=LiveChat(worker_poll_seconds=0.3),
    )


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    with browser() as b:
        yield b


def _wait_text(page: Any, selector: str, text: str) -> None:
    page.wait_for_function(
        """([selector, text]) => Array.from(document.querySelectorAll(selector))
             .some(n => n.textContent.includes(text))""",
        arg=[selector, text],
        timeout=20_000,
    )


def test_an_officer_and_a_resident_talk_in_real_time(chrome: Any, tmp_path: Path) -> None:
    with running_app(_settings(), database=tmp_path / "live.db") as server:
        with server.app.engine.begin() as conn:
            conn.execute(
                staff_users.insert().values(
                    email="jane@example.org",
                    name="Jane Hill",
                    role="agent",
                    team="repairs",
                    password_hash=hash_password(PASSWORD),
                    active=True,
                    created_at=datetime.now(UTC),
                )
            )

        # 1. The officer: signed in, Available.
        staff = chrome.new_page(viewport={"width": 1280, "height": 900})
        staff.goto(f"{server.url}/staff/login")
        staff.get_by_label("Email address").fill("jane@example.org")
        staff.get_by_label("Password").fill(PASSWORD)
        staff.get_by_role("button", name="Sign in").click()
        staff.wait_for_url(f"{server.url}/staff/")
        staff.get_by_role("link", name="Live chat").click()
        staff.wait_for_url(f"{server.url}/staff/chats")
        staff.get_by_role("button", name="Set me to Available").click()
        staff.wait_for_selector("#presence-now[data-presence='available']")
        staff.wait_for_selector("#presence-toggle[data-status='available']")

        # 2. The resident asks for a person.
        resident_page = chrome.new_page(viewport={"width": 420, "height": 800})
        resident_page.goto(server.url + "/")
        resident_page.wait_for_selector("iframe#ds-chat-frame")
        chat = resident_page.frame(name="doorstep-chat")
        assert chat is not None
        chat.wait_for_selector("#ds-chat-status[data-state='online']")
        chat.fill("#ds-chat-input", "My boiler is broken and there is no hot water")
        chat.press("#ds-chat-input", "Enter")
        _wait_text(chat, ".ds-msg--assistant", "Your reference is")
        reference = chat.text_content("#ds-chat-reference strong")
        assert reference is not None and reference.startswith("DS-")
        chat.click("#ds-chat-quick button:has-text('Talk to a person')")
        _wait_text(chat, ".ds-msg--assistant", "You are next in the queue.")
        screenshot(resident_page, "live-chat-1-resident-queued")

        # 3. It reaches the officer's live queue without a reload; she takes it.
        take = staff.get_by_role("button", name=f"Take chat {reference}")
        take.wait_for(timeout=20_000)
        _wait_text(staff, ".first-words", "My boiler is broken")
        screenshot(staff, "live-chat-2-queue")
        take.click()
        staff.wait_for_selector("#chat-say")
        staff.wait_for_selector("#chat-lines[data-live-ready='1']")
        _wait_text(chat, ".ds-msg--assistant", "Jane from the Repairs team has joined the chat.")

        # 4. Both ways, at once.
        staff.fill("#chat-text", "Hello, I'm Jane. Is it a combi boiler?")
        staff.press("#chat-text", "Enter")
        _wait_text(chat, ".ds-msg--staff", "Hello, I'm Jane. Is it a combi boiler?")
        _wait_text(staff, "#chat-lines .who-staff", "Is it a combi boiler?")
        chat.fill("#ds-chat-input", "Yes, a combi. <b>It shows F28</b>")
        chat.press("#ds-chat-input", "Enter")
        _wait_text(staff, "#chat-lines .who-resident", "Yes, a combi. <b>It shows F28</b>")
        assert staff.locator("#chat-lines b").count() == 0  # shown as text, never as HTML
        screenshot(staff, "live-chat-3-officer")
        screenshot(resident_page, "live-chat-4-resident")
        # The assistant said nothing after the resident's reply to Jane.
        staff.wait_for_timeout(1500)
        assistant_lines = chat.eval_on_selector_all(
            "#ds-chat-log .ds-msg--assistant .ds-msg__text",
            "nodes => nodes.map(n => n.textContent)",
        )
        assert assistant_lines[-1].strip() == "Jane from the Repairs team has joined the chat."
        staff.close()
        resident_page.close()
