"""The web chat's accessibility in a real browser (issue 19; Playwright driving Debian's
chromium, headless, against the real app under uvicorn), with axe-core run inside the page.

1. axe finds no serious or critical WCAG 2.x A/AA violation in the demo page or the chat, at
   desktop and phone width, in every state: closed, open, a conversation with replies and
   quick replies, opening hours shown, an error, the too-long refusal, a staff reply, larger
   text, high contrast, Welsh.
2. A hostile landlord page (`a { color: #eee }`, `* { font-size: 8px }`, its own Welsh
   `lang`) cannot restyle the chat: the emergency link keeps its contrast and size, and the
   chat starts in Welsh with the switch offered.
3. The skip link opens the chat and puts the keyboard in the message box.
4. A 5,000-character paste is refused before sending, with the count and the limit, and
   the text stays in the box; nothing reaches the server until it is short enough.
5. New replies (the assistant's and staff's) are scrolled into view even when the resident
   had scrolled up, on a phone as on a desktop, and the log is a live region.
6. Language, larger text and high contrast are remembered on the device.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.domain.model import Channel
from bot.settings import Settings, Team, Webchat
from bot.storage import tables as t
from bot.storage.tables_webchat import webchat_sessions
from channels.webchat.adapter import WebchatSender
from channels.webchat.store import ChatStore
from tests.support.axe import describe, violations
from tests.support.browser import browser, running_app, screenshot
from tests.support.net import free_port

pytestmark = pytest.mark.e2e

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 860}
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}
LANDLORD_PORT = free_port()
LANDLORD = f"http://127.0.0.1:{LANDLORD_PORT}"

# WCAG contrast ratio of an element's text colour on its own background colour.
CONTRAST = """el => {
  const rgb = s => s.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = ([r, g, b]) => {
    const f = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const s = getComputedStyle(el);
  const a = lum(rgb(s.color)), b = lum(rgb(s.backgroundColor));
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""

INPUT_FONT_SIZE = "parseFloat(getComputedStyle(document.getElementById('ds-chat-input')).fontSize)"


def _settings() -> Settings:
    return Settings(
        teams=[Team(id="repairs", name="Repairs team")],
        routing={"repair": "repairs"},
        webchat=Webchat(allowed_origins=[LANDLORD]),
    )


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    with browser() as b:
        yield b


class _HostileSite(BaseHTTPRequestHandler):
    """A landlord's page in Welsh whose own CSS would wreck any widget sharing its styles."""

    def do_GET(self) -> None:
        chat = self.path.partition("chat=")[2]
        lang = "en-GB" if self.path.startswith("/english") else "cy"
        body = f"""<!doctype html><html lang="{lang}"><head><title>Cysylltu â ni</title>
          <style>a {{ color: #eee !important }} * {{ font-size: 8px !important }}
          iframe {{ opacity: 1 }}</style></head><body>
          <main><h1>Cysylltu â ni</h1></main>
          <script src="http://127.0.0.1:{chat}/widget.js" data-doorstep-open="true" defer>
          </script></body></html>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture(scope="module", autouse=True)
def hostile_site() -> Iterator[None]:
    server = ThreadingHTTPServer(("127.0.0.1", LANDLORD_PORT), _HostileSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _frame(page: Any) -> Any:
    page.wait_for_selector("iframe#ds-chat-frame")
    frame = page.frame(name="doorstep-chat")
    assert frame is not None
    frame.wait_for_selector("#ds-chat-status[data-state='online']")
    return frame


def _new_page(chrome: Any, viewport: dict[str, int]) -> Any:
    """A page in its own context. bypass_csp lets axe be injected: the app's CSP (rightly)
    refuses inline scripts."""
    return chrome.new_context(viewport=viewport, bypass_csp=True).new_page()


def _demo(chrome: Any, url: str, viewport: dict[str, int]) -> tuple[Any, Any]:
    page = _new_page(chrome, viewport)
    page.goto(url + "/")
    return page, _frame(page)


def _close(page: Any) -> None:
    context = page.context
    page.close()
    context.close()


def _say(frame: Any, text: str) -> None:
    frame.fill("#ds-chat-input", text)
    frame.press("#ds-chat-input", "Enter")


def _wait_text(frame: Any, selector: str, text: str, count: int = 1) -> None:
    frame.wait_for_function(
        """([selector, text, count]) => Array.from(document.querySelectorAll(selector))
             .filter(n => n.textContent.includes(text)).length >= count""",
        arg=[selector, text, count],
    )


def _no_severe(page: Any, frame: Any, state: str) -> None:
    """axe on the host page (outside the chat) and inside the chat's frame."""
    for where, target in (("page", page), ("chat", frame)):
        found = violations(target)
        assert not found, f"{state}, {where}:\n{describe(found)}"


def _staff_reply(server: Any, text: str) -> None:
    """A reply from staff, delivered as the outbox delivers one: written to the chat's
    history, then the socket is rung."""
    with server.app.engine.connect() as conn:
        (session_id,) = conn.execute(sa.select(webchat_sessions.c.id)).one()
    ChatStore(server.app.engine).add_reply(
        session_id,
        outbox_key=f"staff-{len(text)}",
        body=text,
        role="staff",
        interaction_id=None,
        meta={},
        now=datetime.now(UTC),
    )
    sender = server.app.senders.get(Channel.WEBCHAT)
    assert isinstance(sender, WebchatSender) and sender.hub is not None
    sender.hub.publish(session_id)


def _visible_in_log(frame: Any, selector: str) -> bool:
    """The element's top line is inside the visible part of the log and of the window."""
    seen: bool = frame.eval_on_selector(
        selector,
        """n => { const r = n.getBoundingClientRect();
                  const l = document.getElementById('ds-chat-log').getBoundingClientRect();
                  return r.top >= l.top - 1 && r.top + 20 <= l.bottom + 1
                         && r.top >= 0 && r.top + 20 <= window.innerHeight; }""",
    )
    return seen


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_axe_finds_nothing_serious_in_any_state(chrome: Any, tmp_path: Path, width: str) -> None:
    with running_app(_settings(), database=tmp_path / "chat.db") as server:
        page, frame = _demo(chrome, server.url, WIDTHS[width])
        _no_severe(page, frame, "open")

        frame.click("#ds-chat-close")
        frame.wait_for_selector("#ds-chat-launcher")
        _no_severe(page, frame, "closed")
        frame.click("#ds-chat-launcher")
        frame.wait_for_selector("#ds-chat-panel:not([hidden])")

        _say(frame, "My boiler is broken and there is no hot water")
        _wait_text(frame, ".ds-msg--assistant", "Your reference is")
        frame.wait_for_selector("#ds-chat-quick button")
        frame.click("#ds-chat-hours-toggle")
        _no_severe(page, frame, "conversation")
        screenshot(page, f"a11y-{width}-conversation")

        _staff_reply(server, "Hello, this is Sam from the repairs team. An engineer will call.")
        _wait_text(frame, ".ds-msg--staff", "Sam from the repairs team")
        _no_severe(page, frame, "staff reply")

        frame.click("#ds-chat-send")  # nothing typed: an error
        _wait_text(frame, "#ds-chat-error", "Please type a message first")
        _no_severe(page, frame, "error")

        frame.fill("#ds-chat-input", "x" * 5000)
        frame.press("#ds-chat-input", "Enter")
        _wait_text(frame, "#ds-chat-error", "too long")
        _no_severe(page, frame, "too long")
        screenshot(page, f"a11y-{width}-too-long")
        frame.fill("#ds-chat-input", "")

        frame.click("#ds-chat-large")
        _no_severe(page, frame, "large text")
        frame.click("#ds-chat-contrast")
        _no_severe(page, frame, "large text and high contrast")
        screenshot(page, f"a11y-{width}-contrast")
        frame.click("#ds-chat-large")
        _no_severe(page, frame, "high contrast")
        frame.click("#ds-chat-contrast")

        frame.click("#ds-chat-language")
        frame.wait_for_selector("html[lang='cy']", state="attached")
        _no_severe(page, frame, "Welsh")
        frame.click("#ds-chat-close")
        _no_severe(page, frame, "Welsh, closed")
        screenshot(page, f"a11y-{width}-welsh-closed")
        _close(page)


def test_a_hostile_welsh_host_page_cannot_restyle_the_chat(chrome: Any, tmp_path: Path) -> None:
    with running_app(_settings(), database=tmp_path / "chat.db") as server:
        page = _new_page(chrome, DESKTOP)
        page.goto(f"{LANDLORD}/cysylltu?chat={server.port}")
        frame = _frame(page)
        emergency = frame.query_selector("#ds-chat-emergency")
        assert emergency is not None
        style = emergency.evaluate("n => [getComputedStyle(n).color, getComputedStyle(n).fontSize]")
        assert style == ["rgb(255, 255, 255)", "16px"], style
        assert emergency.evaluate(CONTRAST) >= 4.5
        # The page is in Welsh: the chat starts in Welsh and offers English.
        assert frame.evaluate("document.documentElement.lang") == "cy"
        assert (emergency.text_content() or "").startswith("Argyfwng? Ffoniwch ")
        assert frame.text_content("#ds-chat-send") == "Anfon"
        assert frame.text_content("#ds-chat-language") == "English"
        assert page.get_attribute("iframe#ds-chat-frame", "title") == "Sgwrsio â Doorstep Housing"
        _no_severe(page, frame, "hostile Welsh page")
        screenshot(page, "a11y-hostile-welsh-page")
        _close(page)


def test_the_skip_link_opens_the_chat_and_focuses_the_message_box(
    chrome: Any, tmp_path: Path
) -> None:
    with running_app(_settings(), database=tmp_path / "chat.db") as server:
        page, frame = _demo(chrome, server.url, PHONE)
        # The chat is open (the demo opens it without taking focus): the first Tab on the
        # page reaches the skip link, and it leads into the chat's message box.
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to the chat"
        page.keyboard.press("Enter")
        frame.wait_for_function("document.activeElement.id === 'ds-chat-input'")
        assert page.evaluate("document.activeElement.id") == "ds-chat-frame"
        page.keyboard.type("Typed straight after the skip link")
        assert frame.input_value("#ds-chat-input") == "Typed straight after the skip link"
        # Closed, the skip link opens it again.
        page.evaluate("window.DoorstepChat.close()")
        frame.wait_for_selector("#ds-chat-launcher", state="visible")
        page.focus(".ds-skip")
        page.keyboard.press("Enter")
        frame.wait_for_selector("#ds-chat-panel", state="visible")
        frame.wait_for_function("document.activeElement.id === 'ds-chat-input'")
        assert frame.input_value("#ds-chat-input") == "Typed straight after the skip link"
        _close(page)


def test_a_long_paste_is_refused_with_the_count_and_kept(chrome: Any, tmp_path: Path) -> None:
    with running_app(_settings(), database=tmp_path / "chat.db") as server:
        page, frame = _demo(chrome, server.url, DESKTOP)
        long_text = ("The damp in my bedroom is getting worse every week. " * 100)[:5000]
        frame.fill("#ds-chat-input", long_text)  # as a paste: nothing cuts it
        assert "5,000 of 2,000 characters" in (frame.text_content("#ds-chat-counter") or "")
        frame.press("#ds-chat-input", "Enter")
        _wait_text(frame, "#ds-chat-error", "It has 5,000 characters and you can send up to 2,000")
        assert frame.input_value("#ds-chat-input") == long_text
        assert frame.get_attribute("#ds-chat-input", "aria-invalid") == "true"
        assert frame.evaluate("document.activeElement.id") == "ds-chat-input"
        assert frame.locator(".ds-msg--resident").count() == 0
        with server.app.engine.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(t.inbound_messages))
            assert stored.scalar_one() == 0
        # Shortened, it goes, and the refusal clears.
        frame.fill("#ds-chat-input", long_text[:1990])
        assert frame.text_content("#ds-chat-error") == ""
        frame.press("#ds-chat-input", "Enter")
        _wait_text(frame, ".ds-msg--assistant", "Your reference is")
        assert frame.input_value("#ds-chat-input") == ""
        _close(page)


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_new_replies_are_scrolled_into_view(chrome: Any, tmp_path: Path, width: str) -> None:
    with running_app(_settings(), database=tmp_path / "chat.db") as server:
        page, frame = _demo(chrome, server.url, WIDTHS[width])
        _say(frame, "My boiler is broken and there is no hot water")
        _wait_text(frame, ".ds-msg--assistant", "Your reference is")
        for n in range(4):
            _say(frame, f"More detail, part {n}: " + "it makes a loud banging noise. " * 6)
        _wait_text(frame, ".ds-msg--assistant", "added this to your enquiry", count=4)
        assert _visible_in_log(frame, ".ds-msg--assistant:last-of-type")
        # The resident scrolls back up to read; then staff reply.
        frame.eval_on_selector("#ds-chat-log", "n => { n.scrollTop = 0; }")
        _staff_reply(server, "Hello, this is Sam from the repairs team. We will come tomorrow.")
        _wait_text(frame, ".ds-msg--staff", "Sam from the repairs team")
        frame.wait_for_function("document.getElementById('ds-chat-log').scrollTop > 0")
        assert _visible_in_log(frame, ".ds-msg--staff")
        assert frame.get_attribute("#ds-chat-log", "aria-live") == "polite"
        screenshot(page, f"a11y-{width}-staff-reply")
        _close(page)


def test_language_and_display_options_are_remembered(chrome: Any, tmp_path: Path) -> None:
    with running_app(_settings(), database=tmp_path / "chat.db") as server:
        context = chrome.new_context(viewport=DESKTOP)
        page = context.new_page()
        page.goto(server.url + "/")
        frame = _frame(page)
        assert frame.text_content("#ds-chat-send") == "Send"
        size = frame.evaluate(INPUT_FONT_SIZE)
        frame.click("#ds-chat-language")
        frame.click("#ds-chat-large")
        frame.click("#ds-chat-contrast")
        assert frame.get_attribute("#ds-chat-large", "aria-pressed") == "true"
        page.reload()
        frame = _frame(page)
        assert frame.evaluate("document.documentElement.lang") == "cy"
        assert frame.text_content("#ds-chat-send") == "Anfon"
        assert frame.text_content("#ds-chat-launcher") == "Sgwrsio â ni"
        assert frame.text_content("#ds-chat-language") == "English"
        assert frame.get_attribute("#ds-chat-large", "aria-pressed") == "true"
        assert frame.get_attribute("#ds-chat-contrast", "aria-pressed") == "true"
        bigger = frame.evaluate(INPUT_FONT_SIZE)
        assert bigger >= size * 1.2
        emergency = frame.query_selector("#ds-chat-emergency")
        assert emergency is not None and emergency.evaluate(CONTRAST) >= 7
        # Back to English: the widget's words change back, the chat carries on.
        frame.click("#ds-chat-language")
        assert frame.text_content("#ds-chat-send") == "Send"
        assert frame.evaluate("document.documentElement.lang") == "en-GB"
        _say(frame, "My boiler is broken")
        _wait_text(frame, ".ds-msg--assistant", "Your reference is")
        # Ending the chat clears the chat from the device, not the resident's choices.
        frame.click("#ds-chat-end")
        frame.wait_for_selector("#ds-chat-status[data-ended='true']")
        page.reload()
        frame = _frame(page)
        assert frame.get_attribute("#ds-chat-large", "aria-pressed") == "true"
        assert frame.evaluate("localStorage.getItem('doorstep-chat:lang')") == "en"
        context.close()


def test_an_english_page_gets_an_english_widget_without_the_switch(
    chrome: Any, tmp_path: Path
) -> None:
    with running_app(_settings(), database=tmp_path / "chat.db") as server:
        page = _new_page(chrome, PHONE)
        page.goto(f"{LANDLORD}/english?chat={server.port}")
        frame = _frame(page)
        assert frame.locator("#ds-chat-language").count() == 0
        assert frame.text_content("#ds-chat-send") == "Send"
        assert frame.evaluate("document.documentElement.lang") == "en-GB"
        _no_severe(page, frame, "English page")
        _close(page)


# Tab through the open chat: every stop shows a focus ring of 2px or more, and every control
# it reaches is at least 24 by 24 CSS pixels (links inside a sentence are the inline
# exception of WCAG 2.5.8, so only the controls are measured).
TAB_WALK = """() => {
  const el = document.activeElement, s = getComputedStyle(el), r = el.getBoundingClientRect();
  return {id: el.id || el.tagName, tag: el.tagName, inline: !!el.closest('p'),
          outline: s.outlineStyle, width: parseFloat(s.outlineWidth),
          w: r.width, h: r.height};
}"""


@pytest.mark.parametrize("width", ["desktop", "phone"])
@pytest.mark.parametrize("mode", ["plain", "contrast", "large"])
def test_focus_is_visible_in_order_and_targets_are_big_enough(
    chrome: Any, tmp_path: Path, width: str, mode: str
) -> None:
    with running_app(_settings(), database=tmp_path / "chat.db") as server:
        page, frame = _demo(chrome, server.url, WIDTHS[width])
        _say(frame, "My boiler is broken and there is no hot water")
        _wait_text(frame, ".ds-msg--assistant", "Your reference is")
        frame.wait_for_selector("#ds-chat-quick button")
        if mode != "plain":
            frame.click(f"#ds-chat-{mode}")
        frame.click("#ds-chat-hours-toggle")
        frame.focus("#ds-chat-close")
        page.keyboard.press("Shift+Tab")  # from the keyboard: :focus-visible applies
        stops = [frame.evaluate(TAB_WALK)]
        for _ in range(30):
            page.keyboard.press("Tab")
            stops.append(frame.evaluate(TAB_WALK))
            if stops[-1]["id"] == "ds-chat-end":
                break
        order = [s["id"] for s in stops]
        expected = [
            "ds-chat-language",
            "ds-chat-close",
            "ds-chat-emergency",
            "ds-chat-hours-toggle",
            "ds-chat-log",
            "ds-chat-input",
            "ds-chat-send",
            "ds-chat-large",
            "ds-chat-contrast",
            "ds-chat-end",
        ]
        assert [i for i in order if i in expected] == expected, order
        assert order.index("ds-chat-log") < order.index("BUTTON") < order.index("ds-chat-input")
        for stop in stops:
            assert stop["outline"] == "solid" and stop["width"] >= 2, stop
            if not (stop["tag"] == "A" and stop["inline"]):
                assert stop["w"] >= 24 and stop["h"] >= 24, stop
        _close(page)


def test_reduced_motion_nothing_moves(chrome: Any, tmp_path: Path) -> None:
    with running_app(_settings(), database=tmp_path / "chat.db") as server:
        context = chrome.new_context(viewport=PHONE, reduced_motion="reduce")
        page = context.new_page()
        page.goto(server.url + "/")
        frame = _frame(page)
        _say(frame, "My boiler is broken and there is no hot water")
        _wait_text(frame, ".ds-msg--assistant", "Your reference is")
        moving = frame.evaluate(
            """() => Array.from(document.querySelectorAll('#ds-chat-root, #ds-chat-root *'))
                 .map(n => getComputedStyle(n))
                 .filter(s => s.scrollBehavior === 'smooth'
                              || s.animationName !== 'none'
                              || parseFloat(s.transitionDuration) > 0).length"""
        )
        assert moving == 0
        context.close()


def test_on_a_phone_the_keyboard_stays_in_the_full_screen_chat(chrome: Any, tmp_path: Path) -> None:
    """The open chat covers the whole page on a phone: Tab must not reach links hidden under
    it (WCAG 2.4.11), so it wraps round as in a dialog; on a desktop it leaves the chat."""
    with running_app(_settings(), database=tmp_path / "chat.db") as server:
        page, frame = _demo(chrome, server.url, PHONE)
        frame.focus("#ds-chat-send")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert frame.evaluate("document.activeElement.id") == "ds-chat-end"
        page.keyboard.press("Tab")
        assert frame.evaluate("document.activeElement.id") == "ds-chat-language"
        assert page.evaluate("document.activeElement.id") == "ds-chat-frame"
        page.keyboard.press("Shift+Tab")
        assert frame.evaluate("document.activeElement.id") == "ds-chat-end"
        _close(page)

        page, frame = _demo(chrome, server.url, DESKTOP)
        frame.focus("#ds-chat-end")
        page.keyboard.press("Tab")
        assert frame.evaluate("document.activeElement.id") != "ds-chat-language"
        _close(page)
