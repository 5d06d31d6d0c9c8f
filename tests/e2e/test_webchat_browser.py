"""The resident's web chat in a real browser (Playwright driving Debian's chromium, headless)
against the real app under uvicorn on a loopback port, workers running, a controlled clock.

1. A resident chats, gets a reference and asks for a person in office hours (HANDOFF).
2. Out of hours the chat says when someone will reply and gives the emergency route.
3. The server stops and starts again on the same port and database while the resident
   types: the message waits, is sent once on reconnect, and nothing is lost or doubled;
   a reload shows the same history.
4. HTML and script typed into the chat are shown as text and never run.
5. Phone width (360px): everything fits, targets are large enough, labels are there.
Screenshots of the key screens go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.settings import Settings, Team
from bot.storage import tables as t
from tests.support.browser import browser, closed_clock, running_app, screenshot

pytestmark = pytest.mark.e2e

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 860}


def _settings() -> Settings:
    return Settings(
        teams=[Team(id="repairs", name="Repairs team")],
        routing={"repair": "repairs"},
    )


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    with browser() as b:
        yield b


def _open_chat(chrome: Any, url: str, viewport: dict[str, int] = DESKTOP) -> Any:
    """The demo page, and the chat's frame in it (the chat runs in an iframe on Doorstep's
    origin: PRIVACY). Returns the frame; `frame.page` is the page."""
    page = chrome.new_page(viewport=viewport)
    page.goto(url + "/")
    return chat_frame(page)


def chat_frame(page: Any) -> Any:
    page.wait_for_selector("iframe#ds-chat-frame")
    frame = page.frame(name="doorstep-chat")
    assert frame is not None
    frame.wait_for_selector("#ds-chat-status[data-state='online']")
    return frame


def _say(page: Any, text: str) -> None:
    page.fill("#ds-chat-input", text)
    page.press("#ds-chat-input", "Enter")


def _wait_text(page: Any, selector: str, text: str, count: int = 1) -> None:
    page.wait_for_function(
        """([selector, text, count]) => Array.from(document.querySelectorAll(selector))
             .filter(n => n.textContent.includes(text)).length >= count""",
        arg=[selector, text, count],
    )


def _bubbles(page: Any, role: str) -> list[str]:
    texts: list[str] = page.eval_on_selector_all(
        f"#ds-chat-log .ds-msg--{role} .ds-msg__text", "nodes => nodes.map(n => n.textContent)"
    )
    return texts


def _events(database: Path, kind: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(t.events.c.detail).where(t.events.c.kind == kind)).all()
    finally:
        engine.dispose()
    return [dict(r.detail) for r in rows]


def test_resident_chats_gets_a_reference_and_asks_for_a_person(chrome: Any, tmp_path: Path) -> None:
    with running_app(_settings(), database=tmp_path / "chat.db") as server:
        page = _open_chat(chrome, server.url)
        assert page.get_attribute("#ds-chat-emergency", "href") == "tel:03000000999"
        _say(page, "My boiler is broken and there is no hot water")
        _wait_text(page, ".ds-msg--assistant", "Your reference is")
        reference = page.text_content("#ds-chat-reference strong")
        assert reference is not None and reference.startswith("DS-")
        assert page.is_visible("#ds-chat-reference")
        screenshot(page.page, "webchat-1-reference")

        page.click("#ds-chat-quick button:has-text('Talk to a person')")
        _wait_text(page, ".ds-msg--assistant", "I have asked the Repairs team to pick this up")
        screenshot(page.page, "webchat-2-handoff")
        assert _bubbles(page, "resident") == [
            "My boiler is broken and there is no hot water",
            "Talk to a person",
        ]
        (event,) = _events(server.database, "handoff_requested")
        assert event["team"] == "repairs" and event["office_open"] is True
        page.page.close()


def test_out_of_hours_gives_the_time_and_the_emergency_route(chrome: Any, tmp_path: Path) -> None:
    settings = _settings()
    with running_app(settings, database=tmp_path / "chat.db", clock=closed_clock(settings)) as s:
        page = _open_chat(chrome, s.url)
        _say(page, "There is a leak under my sink")
        _wait_text(page, ".ds-msg--assistant", "Our office is closed now")
        (text,) = _bubbles(page, "assistant")
        assert "will reply by" in text and settings.organisation.emergency_phone in text
        # The number in the reply is a link the resident can tap.
        assert page.locator(".ds-msg--assistant a[href='tel:03000000999']").count() >= 1
        screenshot(page.page, "webchat-3-out-of-hours")
        page.page.close()


def test_connection_drops_and_resumes_without_loss_or_doubles(chrome: Any, tmp_path: Path) -> None:
    database = tmp_path / "chat.db"
    settings = _settings()
    with running_app(settings, database=database) as first:
        port, clock = first.port, first.clock
        page = _open_chat(chrome, first.url)
        _say(page, "My boiler is broken")
        _wait_text(page, ".ds-msg--assistant", "Your reference is")
    # The server is gone: the widget says so and keeps what the resident types.
    page.wait_for_selector("#ds-chat-status[data-state='offline']")
    _say(page, "It is still not working")
    page.wait_for_selector(".ds-msg--pending")
    screenshot(page.page, "webchat-4-offline")

    with running_app(settings, database=database, port=port, clock=clock) as second:
        page.wait_for_selector("#ds-chat-status[data-state='online']", timeout=30_000)
        _wait_text(page, ".ds-msg--assistant", "added this to your enquiry")
        assert page.locator(".ds-msg--pending").count() == 0
        assert _bubbles(page, "resident") == ["My boiler is broken", "It is still not working"]
        assert len(_bubbles(page, "assistant")) == 2
        screenshot(page.page, "webchat-5-resumed")

        page.page.reload()
        page = chat_frame(page.page)
        _wait_text(page, ".ds-msg--assistant", "added this to your enquiry")
        assert _bubbles(page, "resident") == ["My boiler is broken", "It is still not working"]
        assert len(_bubbles(page, "assistant")) == 2
        with second.app.engine.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(t.inbound_messages))
            assert stored.scalar_one() == 2
        page.page.close()


def test_html_and_script_are_shown_as_text(chrome: Any, tmp_path: Path) -> None:
    attacks = [
        '<img src=x onerror="window.__pwned = 1">',
        "<script>window.__pwned = 2</script>",
    ]
    with running_app(_settings(), database=tmp_path / "chat.db") as server:
        page = _open_chat(chrome, server.url)
        for text in attacks:
            _say(page, text)
        _wait_text(page, ".ds-msg--assistant", "added this to your enquiry")
        assert _bubbles(page, "resident") == attacks
        assert page.locator("#ds-chat-log img, #ds-chat-log script").count() == 0
        assert page.evaluate("window.__pwned === undefined")
        assert page.page.evaluate("window.__pwned === undefined")
        screenshot(page.page, "webchat-6-text-only")
        page.page.close()


def test_phone_width_is_usable_and_accessible(chrome: Any, tmp_path: Path) -> None:
    with running_app(_settings(), database=tmp_path / "chat.db") as server:
        page = _open_chat(chrome, server.url, viewport=PHONE)
        _say(page, "Noise from my neighbour every night")
        _wait_text(page, ".ds-msg--assistant", "Your reference is")
        assert page.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        # Labels and live regions for screen readers.
        assert page.get_by_label("Your message").count() == 1
        assert page.get_attribute("#ds-chat-log", "role") == "log"
        assert page.get_attribute("#ds-chat-log", "aria-live") == "polite"
        # Every control is at least 24 by 24 CSS pixels (WCAG 2.2 target size; links inside
        # a sentence are the criterion's inline exception).
        sizes = page.eval_on_selector_all(
            "#ds-chat-panel button, #ds-chat-emergency, #ds-chat-input",
            "nodes => nodes.filter(n => n.offsetParent !== null)"
            ".map(n => [n.getBoundingClientRect().width, n.getBoundingClientRect().height])",
        )
        assert sizes and all(w >= 24 and h >= 24 for w, h in sizes), sizes
        # Opening hours one tap away, and keyboard focus stays visible and in order.
        page.click("#ds-chat-hours-toggle")
        assert page.is_visible("#ds-chat-hours")
        assert "We are open" in (page.text_content("#ds-chat-hours") or "")
        page.focus("#ds-chat-close")
        order = []
        for _ in range(12):
            page.page.keyboard.press("Tab")
            order.append(
                page.evaluate("document.activeElement.id || document.activeElement.tagName")
            )
            if order[-1] == "ds-chat-input":
                break
        assert order[:2] == ["ds-chat-emergency", "ds-chat-hours-toggle"], order
        assert order.index("ds-chat-log") < order.index("ds-chat-input"), order
        outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline == "solid"
        screenshot(page.page, "webchat-7-phone", full_page=True)
        page.page.keyboard.press("Escape")
        assert page.is_visible("#ds-chat-launcher")
        assert page.evaluate("document.activeElement.id") == "ds-chat-launcher"
        page.page.close()
