"""Limits before work (issue 14): a request is measured before it is read, parsed or
checked, so a hostile client costs us little.

- uvicorn's own limits: connections (`limit_concurrency`: beyond it a 503, not a queue),
  idle keep-alive, header size (h11), WebSocket frame size (checked by the protocol before
  the frame is buffered), and which proxies may set the client address;
- a header timeout: a connection must send its request headers within
  `web.header_timeout_seconds` (slow half-open connections are closed, not held);
- a header size limit on every request and WebSocket (431), however fast they came;
- a body limit on every request: a declared Content-Length over the limit is refused at
  once with 413, and a body streamed without one is counted while it is read and refused
  when it passes the limit, before the endpoint has parsed anything.

Settings: `web:` in config.yml (bot/settings.py `WebLimits`); docs/deployment.md.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from bot.settings import Settings, WebLimits

log = logging.getLogger(__name__)

WEBHOOK_PREFIX = "/webhooks/"
SOCIAL_WEBHOOKS = ("/webhooks/meta", "/webhooks/x")


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn.Config arguments for `doorstep serve`."""
    limits = settings.web
    return {
        "http": header_timeout_protocol(limits.header_timeout_seconds),
        "limit_concurrency": limits.max_connections,
        "timeout_keep_alive": limits.keep_alive_seconds,
        "h11_max_incomplete_event_size": limits.max_header_bytes,
        "ws_max_size": limits.websocket_max_bytes,
        # Only a configured proxy may say who the client is; by default nobody can.
        "proxy_headers": bool(limits.trusted_proxies),
        "forwarded_allow_ips": list(limits.trusted_proxies) or None,
        "server_header": False,
    }


def header_timeout_protocol(seconds: float) -> type[Any]:
    """uvicorn's h11 protocol, closing a connection whose request headers have not all
    arrived `seconds` after it opened (or after its previous response)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutProtocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None
        _armed_cycle: object = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._armed_cycle = self.cycle
            self._header_timer = self.loop.call_later(seconds, self._headers_late)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            transport = self.transport
            if transport.is_closing() or transport.get_protocol() is not self:
                return  # closed already, or upgraded to a WebSocket
            if self.cycle is not self._armed_cycle:
                return  # a request started in time
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "a client"
            log.warning("closed a connection from %s: no complete request in %ss", client, seconds)
            transport.close()

    return HeaderTimeoutProtocol


class BodyLimit:
    """ASGI middleware: every request body within `web.max_body_bytes` (webhooks:
    `web.webhook_max_body_bytes`), refused with 413 before the endpoint reads past it."""

    def __init__(self, app: ASGIApp, limits: WebLimits) -> None:
        self.app = app
        self.limits = limits

    def limit_for(self, path: str) -> int:
        if path.startswith(SOCIAL_WEBHOOKS):
            # Meta batches many events in one signed post; the general limit still holds.
            return self.limits.max_body_bytes
        if path.startswith(WEBHOOK_PREFIX):
            return self.limits.webhook_max_body_bytes
        return self.limits.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        header_bytes = sum(len(k) + len(v) + 4 for k, v in scope.get("headers", []))
        if header_bytes > self.limits.max_header_bytes:
            # h11 only limits headers that arrive slowly; these arrived at once.
            log.warning(
                "refused %s %s: %d bytes of headers (limit %d)",
                scope.get("method", "WEBSOCKET"),
                scope.get("path", ""),
                header_bytes,
                self.limits.max_header_bytes,
            )
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await _plain(send, 431, "Request headers too large.")
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared == -1 or (declared is not None and declared > limit):
            reason = "a malformed Content-Length" if declared == -1 else f"{declared} bytes"
            log.warning(
                "refused %s %s: %s (limit %d)", scope["method"], scope["path"], reason, limit
            )
            status = 400 if declared == -1 else 413
            await _plain(send, status, "Request body too large." if status == 413 else "")
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    log.warning(
                        "refused %s %s: body passed %d bytes while reading",
                        scope["method"],
                        scope["path"],
                        limit,
                    )
                    raise HTTPException(413, "Request body too large.")
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    """The declared body size; None when not declared, -1 when not a number."""
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 19 else -1
    return None


async def _plain(send: Send, status: int, text: str) -> None:
    body = (text or "Bad request.").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def read_body(request: Any, limit: int) -> bytes:
    """A request's body, refused with 413 as soon as it passes `limit` bytes (whatever
    Content-Length said), for endpoints that must read the body before checking it."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.strip().isdigit() or int(declared) > limit):
        raise HTTPException(413, "Request body too large.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, "Request body too large.")
        chunks.append(chunk)
    return b"".join(chunks)
