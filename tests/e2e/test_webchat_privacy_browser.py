"""Chat isolation in a real browser (PRIVACY, issue 13): Playwright driving Debian's
chromium against the real app under uvicorn.

1. On a landlord's page (another origin), the chat runs in an iframe on Doorstep's origin:
   the page and its scripts cannot read the chat's token or its history.
2. A token idle for longer than `webchat.idle_timeout_hours` stops working: the next visit
   starts an empty chat, and the earlier chat's messages stay with its case on the server.
3. "End chat and clear this device" ends the chat on the server and leaves nothing on the
   device: a reload shows an empty chat, and the old token no longer opens it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.settings import Settings, Team, Webchat
from bot.storage import tables as t
from bot.storage.tables_webchat import webchat_sessions
from channels.webchat.store import hash_token
from tests.support.browser import browser, running_app, screenshot
from tests.support.net import free_port

pytestmark = pytest.mark.e2e

LANDLORD_PORT = free_port()
# Another origin than the chat server (another port), on the same site, as when a landlord
# serves the chat from chat.landlord.org.uk beside www.landlord.org.uk: browsers that block
# third-party storage still let the chat keep its token then (docs/webchat.md).
LANDLORD = f"http://127.0.0.1:{LANDLORD_PORT}"
TOKEN_KEY = "doorstep-chat:token"


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


class _LandlordSite(BaseHTTPRequestHandler):
    """The landlord's own web page, with the one script tag (its port says where the chat
    server is: /contact?chat=PORT)."""

    def do_GET(self) -> None:
        chat = self.path.partition("chat=")[2]
        body = f"""<!doctype html><html lang="en"><head><title>Landlord</title></head><body>
          <h1>Contact us</h1>
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
def landlord_site() -> Iterator[None]:
    server = ThreadingHTTPServer(("127.0.0.1", LANDLORD_PORT), _LandlordSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _landlord_page(chrome: Any, chat_port: int) -> Any:
    page = chrome.new_page(viewport={"width": 1280, "height": 860})
    page.goto(f"{LANDLORD}/contact?chat={chat_port}")
    return page


def _frame(page: Any) -> Any:
    page.wait_for_selector("iframe#ds-chat-frame")
    frame = page.frame(name="doorstep-chat")
    assert frame is not None
    frame.wait_for_selector("#ds-chat-status[data-state='online']")
    return frame


def _say_and_wait(frame: Any, text: str, answer: str) -> None:
    frame.fill("#ds-chat-input", text)
    frame.press("#ds-chat-input", "Enter")
    frame.wait_for_function(
        """t => Array.from(document.querySelectorAll('.ds-msg--assistant'))
             .some(n => n.textContent.includes(t))""",
        arg=answer,
    )


def _resident_bubbles(frame: Any) -> list[str]:
    texts: list[str] = frame.eval_on_selector_all(
        ".ds-msg--resident .ds-msg__text", "nodes => nodes.map(n => n.textContent)"
    )
    return texts


def _sessions(engine: sa.Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(
            conn.execute(sa.select(webchat_sessions).order_by(webchat_sessions.c.created_at))
        )


def _inbound_texts(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return [
            str(r.body)
            for r in conn.execute(
                sa.select(t.inbound_messages.c.body).order_by(t.inbound_messages.c.id)
            )
        ]


READ_FRAME_STORAGE = """() => {
  const frame = document.getElementById('ds-chat-frame');
  try { return 'read:' + frame.contentWindow.localStorage.length; }
  catch (e) { return e.name; }
}"""


def test_the_landlords_page_cannot_read_the_chat(chrome: Any, tmp_path: Path) -> None:
    with running_app(_settings(), database=tmp_path / "chat.db") as server:
        page = _landlord_page(chrome, server.port)
        frame = _frame(page)
        _say_and_wait(frame, "My boiler is broken, I live at 12 Acacia Road", "Your reference is")
        token = frame.evaluate(f"localStorage.getItem({TOKEN_KEY!r})")
        assert token  # the chat keeps its token, in its own origin's storage
        screenshot(page, "webchat-privacy-1-landlord-page")

        # The host page and any script on it: nothing of the chat.
        assert page.evaluate("Object.keys(window.localStorage)") == []
        assert page.evaluate("Object.keys(window.sessionStorage)") == []
        assert token not in page.evaluate("document.cookie")
        assert page.evaluate(READ_FRAME_STORAGE) == "SecurityError"
        assert page.evaluate("document.getElementById('ds-chat-frame').contentDocument") is None
        assert "Acacia" not in page.evaluate("document.documentElement.outerHTML")
        # The page may open and close the chat, nothing more.
        page.evaluate("window.DoorstepChat.close()")
        frame.wait_for_selector("#ds-chat-launcher", state="visible")
        page.evaluate("window.DoorstepChat.open()")
        frame.wait_for_selector("#ds-chat-panel", state="visible")
        page.close()


def test_an_idle_token_expires_and_the_next_visit_starts_empty(chrome: Any, tmp_path: Path) -> None:
    settings = _settings()
    settings.webchat.idle_timeout_hours = 24
    with running_app(settings, database=tmp_path / "chat.db") as server:
        page = _landlord_page(chrome, server.port)
        frame = _frame(page)
        _say_and_wait(frame, "My boiler is broken", "Your reference is")
        old_token = frame.evaluate(f"localStorage.getItem({TOKEN_KEY!r})")

        server.clock.advance(hours=23)  # within the idle time: the chat comes back
        page.reload()
        frame = _frame(page)
        frame.wait_for_selector(".ds-msg--resident")
        assert _resident_bubbles(frame) == ["My boiler is broken"]

        server.clock.advance(hours=25)  # idle longer than 24 hours
        page.reload()
        frame = _frame(page)
        frame.wait_for_selector("#ds-chat-notice:not([hidden])")
        assert "not used for a while" in (frame.text_content("#ds-chat-notice") or "")
        assert _resident_bubbles(frame) == []
        assert frame.evaluate(f"localStorage.getItem({TOKEN_KEY!r})") != old_token
        screenshot(page, "webchat-privacy-2-expired")
        page.close()

    # The old token can never open the chat again; what the resident sent is kept.
    first, *_ = _sessions(server.app.engine)
    assert first.token_hash != hash_token(old_token)
    assert _inbound_texts(server.app.engine) == ["My boiler is broken"]


def test_end_chat_and_clear_this_device(chrome: Any, tmp_path: Path) -> None:
    with running_app(_settings(), database=tmp_path / "chat.db") as server:
        page = _landlord_page(chrome, server.port)
        frame = _frame(page)
        assert "shared or public computer" in (frame.text_content("#ds-chat-shared-note") or "")
        _say_and_wait(frame, "Someone is threatening me", "Your reference is")
        old_token = frame.evaluate(f"localStorage.getItem({TOKEN_KEY!r})")

        frame.click("#ds-chat-end")
        frame.wait_for_selector("#ds-chat-notice:not([hidden])")
        assert "nothing from it is kept on this device" in (
            frame.text_content("#ds-chat-notice") or ""
        )
        assert frame.locator(".ds-msg").count() == 0
        assert not frame.is_visible("#ds-chat-reference")
        frame.wait_for_selector("#ds-chat-status[data-state='online']")
        screenshot(page, "webchat-privacy-3-ended")

        page.reload()
        frame = _frame(page)
        assert _resident_bubbles(frame) == []
        assert frame.evaluate(f"localStorage.getItem({TOKEN_KEY!r})") != old_token
        page.close()

    first, *_ = _sessions(server.app.engine)
    assert first.token_hash != hash_token(old_token)
    assert _inbound_texts(server.app.engine) == ["Someone is threatening me"]
