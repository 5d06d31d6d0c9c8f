"""The web chat's HTTP side: the WebSocket endpoint, the widget script and the demo page.

The socket handler is an adapter like any webhook: it checks (origin, size, rate), stores the
resident's message (`pipeline.store_raw`) before anything else, records it in the chat
history, wakes the inbound processor and returns to reading. It never writes a reply itself:
the assistant's and staff's replies come through the outbox, whose web chat sender writes them
into the history and rings the hub; each open socket then pushes what the browser has not
seen yet (`seq` greater than the last one pushed).

Protocol (JSON text frames; docs/webchat.md):
  browser -> server  {"type": "hello", "token": str | null, "after": int}
                     {"type": "message", "id": str, "text": str, "display": str?}
  server -> browser  {"type": "welcome", "token", "session", "reference", ...}
                     {"type": "message", "seq", "role", "text", "at", "id"?, "reference"?,
                      "buttons"?}
                     {"type": "ready"}   (the replay after "hello" is complete)
                     {"type": "error", "code", "message", "id"?}
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse, Response

from bot.bootstrap import App
from bot.domain.model import Channel
from bot.domain.safety import GAS_EMERGENCY
from channels.webchat.adapter import (
    CLIENT_ID_RE,
    SOURCE,
    ChatPayload,
    WebchatSender,
    encode_payload,
    external_id,
)
from channels.webchat.hub import Hub
from channels.webchat.store import ChatSession, ChatStore

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SOCKET_PATH = "/ws/chat"
WIDGET_PATH = "/widget.js"
CSS_PATH = "/webchat/widget.css"
FRAME_PATH = "/webchat/frame"  # the chat itself, in an iframe on our origin (PRIVACY)
CHAT_JS_PATH = "/webchat/chat.js"
DEFAULTS_PLACEHOLDER = "__DOORSTEP_DEFAULTS__"
POLICY_VIOLATION = 1008


class RateLimiter:
    """At most `per_minute` messages in any 60 seconds, per chat session (so reconnecting
    does not reset it). In-process and monotonic: a limit, not an accounting record."""

    def __init__(self, per_minute: int, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = window
        self._seen: dict[str, deque[float]] = {}
        self._pruned = float("-inf")

    def allow(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if not self.has_room(key, now):
            return False
        self._seen[key].append(now)
        # Forget idle sessions, at most once a window: a soak's thousands of finished chats
        # each kept a key here until there were 10,000 of them.
        if len(self._seen) > 1_000 and now - self._pruned >= self.window:
            self._pruned = now
            for idle in [k for k, v in self._seen.items() if not v or v[-1] <= now - self.window]:
                del self._seen[idle]
        return True

    def has_room(self, key: str, now: float | None = None) -> bool:
        """Would `allow` say yes now (without counting this as a use)?"""
        now = time.monotonic() if now is None else now
        seen = self._seen.setdefault(key, deque())
        while seen and seen[0] <= now - self.window:
            seen.popleft()
        return len(seen) < self.per_minute


def client_address(websocket: WebSocket) -> str:
    """Who is connecting: the peer address, or the address a trusted proxy gave
    (uvicorn applies X-Forwarded-For only from `web.trusted_proxies`)."""
    return websocket.client.host if websocket.client else "unknown"


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """Cross-site WebSocket hijacking guard. Browsers always send Origin; a page on our own
    host, or on a configured landlord site, may open the chat. Clients that are not browsers
    send none (and could send anything), so its absence is not a reason to refuse."""
    if origin is None:
        return True
    origin = origin.strip().rstrip("/").lower()
    if origin in {a.strip().rstrip("/").lower() for a in allowed} or "*" in allowed:
        return True
    return bool(host) and urlsplit(origin).netloc == (host or "").strip().lower()


class ChatServer:
    """What the endpoint shares across connections: storage, the hub and the rate limiter."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = app.settings.webchat
        self.store = ChatStore(app.engine)
        sender = app.senders.get(Channel.WEBCHAT) if Channel.WEBCHAT in app.senders else None
        if isinstance(sender, WebchatSender):
            if sender.hub is None:
                sender.bind(self.store, Hub())
            assert sender.hub is not None
            self.hub = sender.hub
        else:
            self.hub = Hub()  # tests with a collecting sender: nothing is pushed
        self.limiter = RateLimiter(self.settings.messages_per_minute)
        # Limits per client address as well as per session: new sessions are free to make,
        # so a per-session limit alone does not stop one client opening case after case.
        limits = app.settings.web
        self.sessions_by_address = RateLimiter(
            limits.chat_sessions_per_address_per_hour, window=3600.0
        )
        self.messages_by_address = RateLimiter(limits.chat_messages_per_address_per_minute)
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self._scripts: dict[str, str] = {}

    def defaults(self) -> dict[str, Any]:
        """What the widget shows before (or without) a connection: the emergency route must
        work even when the chat server cannot be reached (EMERGENCY, HOURS)."""
        org = self.app.settings.organisation
        return {
            "organisation": org.name,
            "phone": org.phone,
            "emergencyPhone": org.emergency_phone,
            "openingHours": org.opening_hours_text,
            "website": org.website,
            "maxChars": self.settings.max_message_chars,
        }

    def script(self, name: str) -> str:
        """widget.js (the loader on the landlord's page) or chat.js (the chat in its frame),
        with the defaults filled in."""
        if name not in self._scripts:
            source = (HERE / "static" / name).read_text(encoding="utf-8")
            data = json.dumps(self.defaults()).replace("<", "\\u003c")
            self._scripts[name] = source.replace(DEFAULTS_PLACEHOLDER, data, 1)
        return self._scripts[name]

    def widget_js(self) -> str:
        return self.script("widget.js")

    def frame_page(self) -> str:
        return self._env.get_template("frame.html").render(
            org=self.app.settings.organisation, css_path=CSS_PATH, chat_path=CHAT_JS_PATH
        )

    def greeting(self) -> str:
        org = self.app.settings.organisation
        return self.app.composer.render(
            "chat_welcome.txt.j2", channel="webchat", emergency_phone=org.emergency_phone
        ).strip()

    def demo_page(self) -> str:
        org = self.app.settings.organisation
        return self._env.get_template("demo.html").render(
            org=org, widget_path=WIDGET_PATH, gas_phone=GAS_EMERGENCY
        )


class ChatConnection:
    """One open socket: the hello, the replay, then reading and pushing side by side."""

    def __init__(self, server: ChatServer, websocket: WebSocket) -> None:
        self.server = server
        self.ws = websocket
        self.session: ChatSession | None = None
        self.pushed = 0
        self._send_lock = asyncio.Lock()
        self._push_lock = asyncio.Lock()
        self._ended = False  # the reader is done: the pusher stops even if not cancelled

    async def send(self, frame: dict[str, Any]) -> None:
        async with self._send_lock:
            await self.ws.send_text(json.dumps(frame, ensure_ascii=False))

    async def error(self, code: str, message: str, client_id: str | None = None) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if client_id is not None:
            frame["id"] = client_id
        await self.send(frame)

    async def refuse_new_chat(self, address: str) -> None:
        log.warning("refused a new chat from %s: too many new chats this hour", address)
        await self.error("rate_limited", too_many_chats_message(self.server))
        await self.ws.close(code=POLICY_VIOLATION)

    async def receive_text(self) -> str | None:
        """The next text frame; None for a binary one (the protocol is JSON text only)."""
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
        text = message.get("text")
        return text if isinstance(text, str) else None

    async def run(self) -> None:
        server = self.server
        try:
            async with asyncio.timeout(server.settings.hello_timeout_seconds):
                hello = await self.receive_text()
            if hello is None or len(hello) > 4096:
                raise ValueError("not a hello")
            frame = json.loads(hello)
        except (TimeoutError, ValueError, RecursionError, WebSocketDisconnect):
            with contextlib.suppress(Exception):
                await self.ws.close(code=POLICY_VIOLATION)
            return
        if not isinstance(frame, dict) or frame.get("type") != "hello":
            await self.error("bad_request", "The chat must start with hello.")
            await self.ws.close(code=POLICY_VIOLATION)
            return
        token = frame.get("token") if isinstance(frame.get("token"), str) else None
        if token is not None and len(token) > 200:
            token = None  # not one of ours: never looked up
        after = frame.get("after")
        after = after if isinstance(after, int) and 0 < after < 2**53 else 0
        idle = timedelta(hours=server.settings.idle_timeout_hours)
        address = client_address(self.ws)
        if token is None and not server.sessions_by_address.has_room(address):
            await self.refuse_new_chat(address)
            return
        session, new_token = await asyncio.to_thread(
            server.store.open_session, token, server.app.now(), self.ws.headers.get("origin"), idle
        )
        # A new session (not a return to one) counts against the address's hourly budget.
        if new_token != token and not server.sessions_by_address.allow(address):
            await self.refuse_new_chat(address)
            return
        token = new_token
        self.session = session
        reset = after > session.last_seq  # the browser remembers more than we have
        self.pushed = 0 if reset else after
        event = server.hub.subscribe(session.id)
        pusher: asyncio.Task[None] | None = None
        try:
            await self.send(
                {
                    "type": "welcome",
                    "token": token,
                    "session": session.id,
                    "reference": session.reference,
                    "reset": reset,
                    "greeting": server.greeting(),
                    **server.defaults(),
                    "messagesPerMinute": server.settings.messages_per_minute,
                    "idleSeconds": int(idle.total_seconds()),
                    "expired": session.expired,
                }
            )
            await self.push()
            await self.send({"type": "ready", "seq": self.pushed})
            pusher = asyncio.create_task(self.push_loop(event))
            await self.read_loop()
        except WebSocketDisconnect:
            pass
        finally:
            self._ended = True
            server.hub.unsubscribe(session.id, event)
            if pusher is not None:
                event.set()  # wakes it to see `_ended`, whatever becomes of the cancel
                pusher.cancel()
                # `asyncio.wait`, not `await pusher` under suppress(CancelledError): that
                # also swallowed this handler's own cancellation (serve's shutdown timeout).
                await asyncio.wait({pusher})
                if not pusher.cancelled() and pusher.exception() is not None:
                    log.debug("chat pusher ended with an error", exc_info=pusher.exception())

    async def push(self) -> None:
        """Send every history line after the last one this socket pushed, in order."""
        assert self.session is not None
        async with self._push_lock:
            lines = await asyncio.to_thread(
                self.server.store.lines_after, self.session.id, self.pushed
            )
            for line in lines:
                await self.send(line.frame())
                self.pushed = line.seq

    async def push_loop(self, event: asyncio.Event) -> None:
        poll = self.server.settings.poll_seconds
        while not self._ended:
            # Not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that arrives
            # as the event is set (a ring as the socket closes), and this loop then outlived
            # its socket, holding the handler, and serve's shutdown, for ever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(poll):
                    await event.wait()
            if self._ended:
                return
            event.clear()
            try:
                await self.push()
            except (WebSocketDisconnect, RuntimeError):
                return  # the socket is gone; the reader ends the connection

    async def read_loop(self) -> None:
        limit = self.server.settings.max_message_chars
        while True:
            raw = await self.receive_text()
            if raw is None:
                await self.error("bad_request", "That message could not be read.")
                continue
            if len(raw) > limit * 6 + 2000:  # before parsing: the frame itself is too big
                await self.error("too_long", too_long_message(limit))
                continue
            try:
                frame = json.loads(raw)
            except (ValueError, RecursionError):
                await self.error("bad_request", "That message could not be read.")
                continue
            if isinstance(frame, dict) and frame.get("type") == "message":
                await self.on_message(frame)
            elif isinstance(frame, dict) and frame.get("type") == "ping":
                await self.send({"type": "pong"})
            elif isinstance(frame, dict) and frame.get("type") == "end":
                # "End chat and clear this device": this token stops working now.
                assert self.session is not None
                await asyncio.to_thread(self.server.store.end_session, self.session.id)
                await self.send({"type": "ended"})
                await self.ws.close()
                return

    async def on_message(self, frame: dict[str, Any]) -> None:
        server = self.server
        assert self.session is not None
        session_id = self.session.id
        client_id = frame.get("id")
        text = frame.get("text")
        display = frame.get("display")
        if not isinstance(client_id, str) or not CLIENT_ID_RE.match(client_id):
            await self.error("bad_request", "That message had no valid id.")
            return
        if not isinstance(text, str) or not text.strip():
            await self.error("empty", "Please type a message first.", client_id)
            return
        limit = server.settings.max_message_chars
        if len(text) > limit:
            await self.error("too_long", too_long_message(limit), client_id)
            return
        shown = display if isinstance(display, str) and 0 < len(display) <= 200 else text
        # A resend after a dropped connection: stored already, so only confirm it.
        existing = await asyncio.to_thread(server.store.find_resident_line, session_id, client_id)
        if existing is not None:
            await self.send(existing.frame())
            return
        if not server.limiter.allow(session_id) or not server.messages_by_address.allow(
            client_address(self.ws)
        ):
            org = server.app.settings.organisation
            await self.error(
                "rate_limited",
                "You are sending messages very quickly. Please wait a minute, then try again. "
                f"For an emergency repair, call {org.emergency_phone}.",
                client_id,
            )
            return
        now = server.app.now()
        current = await asyncio.to_thread(server.store.get_session, session_id) or self.session
        ext = external_id(session_id, client_id)
        payload = ChatPayload(
            session_id=session_id,
            conversation_id=current.conversation_id,
            client_id=client_id,
            text=text,
            received_at=now,
            opening_external_id=current.opening_external_id,
        )
        # Store first: once this returns the message cannot be lost, whatever happens next.
        await asyncio.to_thread(
            server.app.pipeline.store_raw, Channel.WEBCHAT, SOURCE, ext, encode_payload(payload)
        )
        await asyncio.to_thread(
            server.store.add_resident_line, session_id, client_id, shown.strip(), ext, now
        )
        runtime = getattr(self.ws.app.state, "runtime", None)
        if runtime is not None:
            runtime.wake_inbound()
        server.hub.publish(session_id)


def too_many_chats_message(server: ChatServer) -> str:
    org = server.app.settings.organisation
    return (
        "Too many chats have been started from here. Please try again later, or call us on "
        f"{org.phone}. For an emergency repair, call {org.emergency_phone}."
    )


def too_long_message(limit: int) -> str:
    return (
        f"Your message is too long. Please keep it under {limit:,} characters, or send it in parts."
    )


def build_router(app: App) -> APIRouter:
    router = APIRouter()
    if not app.settings.webchat.enabled:
        return router
    server = ChatServer(app)
    app.extras["webchat"] = server

    @router.websocket(SOCKET_PATH)
    async def chat_socket(websocket: WebSocket) -> None:
        if not origin_allowed(
            websocket.headers.get("origin"),
            websocket.headers.get("host"),
            server.settings.allowed_origins,
        ):
            await websocket.close(code=POLICY_VIOLATION)
            return
        await websocket.accept()
        await ChatConnection(server, websocket).run()

    @router.get(WIDGET_PATH, include_in_schema=False)
    def widget_js() -> Response:
        return Response(
            server.widget_js(),
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300"},
        )

    @router.get(CHAT_JS_PATH, include_in_schema=False)
    def chat_js() -> Response:
        return Response(
            server.script("chat.js"),
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300"},
        )

    @router.get(FRAME_PATH, response_class=HTMLResponse, include_in_schema=False)
    def chat_frame(request: Request) -> HTMLResponse:
        host = request.headers.get("host", "")
        # Only the landlord's own sites (webchat.allowed_origins) may frame the chat.
        allowed = server.settings.allowed_origins
        ancestors = "*" if "*" in allowed else " ".join(["'self'", *allowed])
        csp = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' ws://{host} wss://{host}; base-uri 'none'; "
            f"form-action 'none'; frame-ancestors {ancestors}"
        )
        return HTMLResponse(
            server.frame_page(),
            headers={
                "Content-Security-Policy": csp,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
            },
        )

    @router.get(CSS_PATH, include_in_schema=False)
    def widget_css() -> Response:
        return Response(
            (HERE / "static" / "widget.css").read_bytes(),
            media_type="text/css; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300"},
        )

    if app.settings.webchat.demo_page:

        @router.get("/", response_class=HTMLResponse, include_in_schema=False)
        def demo(request: Request) -> HTMLResponse:
            host = request.headers.get("host", "")
            # Defence in depth: even if a message were ever put into the page as HTML, no
            # inline script or event handler could run.
            csp = (
                "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                f"connect-src 'self' ws://{host} wss://{host}; base-uri 'none'; "
                "frame-ancestors 'self'; form-action 'self'"
            )
            return HTMLResponse(
                server.demo_page(),
                headers={"Content-Security-Policy": csp, "X-Content-Type-Options": "nosniff"},
            )

    return router


def build_worker(app: App) -> None:
    """No background work: replies reach the chat through the outbox worker and the hub."""
    return None
