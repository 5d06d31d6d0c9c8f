"""The API gate's credential parsing against hostile headers, and which security headers each
part of the site gets (no sockets, no database)."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.web.api_auth import ApiGate, Principal, _bearer, _session_token
from bot.web.security import headers_for


def test_bearer_parsing() -> None:
    assert _bearer([]) is None
    assert _bearer([(b"authorization", b"Bearer ds_abc")]) == "ds_abc"
    assert _bearer([(b"authorization", b"bearer   ds_abc  ")]) == "ds_abc"
    assert _bearer([(b"authorization", b"Basic YWRtaW46YWRtaW4=")]) == ""
    assert _bearer([(b"authorization", b"Bearer")]) == ""
    assert _bearer([(b"authorization", "Bearer ds_\u00e9".encode("latin-1"))]) == "ds_\u00e9"


def test_session_cookie_parsing_survives_junk() -> None:
    assert _session_token([(b"cookie", b"ds_staff=abc; other=1")]) == "abc"
    assert _session_token([(b"cookie", b"other=1")]) is None
    for junk in (b'ds_staff="unterminated', b";;;=;", b"\xff\xfe", b"a" * 10_000):
        _session_token([(b"cookie", junk)])  # no exception


class _Authenticator:
    def __init__(self) -> None:
        self.calls: list[tuple[str | None, str | None]] = []

    def principal(self, bearer: str | None, session: str | None) -> Principal | None:
        self.calls.append((bearer, session))
        return Principal("token:t", frozenset({"read"})) if bearer == "good" else None


def _call(gate: ApiGate, path: str, headers: list[tuple[bytes, bytes]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(gate({"type": "http", "path": path, "headers": headers}, receive, send))
    return sent


def test_the_gate_refuses_before_the_app_runs() -> None:
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])
        assert scope["state"]["api_principal"].name == "token:t"

    auth = _Authenticator()
    gate = ApiGate(app, auth)  # type: ignore[arg-type]
    refused = _call(gate, "/api/status", [])
    assert refused[0]["status"] == 401 and reached == [] and auth.calls == []  # no DB call
    assert _call(gate, "/api/status", [(b"authorization", b"Bearer bad")])[0]["status"] == 401
    assert _call(gate, "/api", [])[0]["status"] == 401
    _call(gate, "/api/status", [(b"authorization", b"Bearer good")])
    assert reached == ["/api/status"]


def test_the_gate_leaves_other_paths_alone() -> None:
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    gate = ApiGate(app, _Authenticator())  # type: ignore[arg-type]
    for path in ("/healthz", "/staff/login", "/", "/apix", "/chat"):
        _call(gate, path, [])
    assert reached == ["/healthz", "/staff/login", "/", "/apix", "/chat"]


def test_security_headers_by_part_of_the_site() -> None:
    staff = dict(headers_for("/staff/interactions/1"))
    assert b"frame-ancestors 'none'" in staff[b"content-security-policy"]
    assert staff[b"cache-control"] == b"no-store"
    assert staff[b"referrer-policy"] == b"no-referrer"
    api = dict(headers_for("/api/status"))
    assert api[b"cache-control"] == b"no-store"
    public = dict(headers_for("/"))
    # Resident pages may be framed by the landlord's site (the chat widget decides).
    assert b"content-security-policy" not in public and b"x-frame-options" not in public
    assert public[b"x-content-type-options"] == b"nosniff"
