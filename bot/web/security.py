"""Security headers on every response (an ASGI middleware, installed by create_app).

Staff pages and the API hold residents' personal data, so they get the strict set: a CSP
that allows only our own scripts and styles (the dashboard has no inline script), no
framing (clickjacking a "Close" button), no Referer leaving with a case URL, and
`Cache-Control: no-store` so a shared computer's browser cache or the back button does not
show a case after sign-out. Resident-facing pages (the web chat) only get the headers that
cannot break an embedding landlord site; their framing rules belong to the chat widget.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

STAFF_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"

_COMMON = ((b"x-content-type-options", b"nosniff"),)
_STAFF = (
    (b"content-security-policy", STAFF_CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)
_API = (
    (b"content-security-policy", API_CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)
_PUBLIC = ((b"referrer-policy", b"strict-origin-when-cross-origin"),)


def headers_for(path: str) -> tuple[tuple[bytes, bytes], ...]:
    if path == "/staff" or path.startswith("/staff/"):
        return _COMMON + _STAFF
    if path == "/api" or path.startswith("/api/") or path in ("/docs", "/redoc", "/openapi.json"):
        return _COMMON + _API
    return _COMMON + _PUBLIC


class SecurityHeaders:
    """Adds the headers for the path unless the route set its own (the dashboard's static
    files keep their short max-age; the live stream its no-cache)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in extra if k not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
