"""Who may call the JSON API under /api: a scoped token, or a signed-in member of staff.

Two layers, so that a route cannot be left open by forgetting something:

1. `ApiGate`, an ASGI middleware in front of the whole app, refuses every request under
   /api that carries no valid credential (401), before any route runs, including paths
   that do not exist (so the API cannot be mapped by a stranger).
2. `require(scope)`, a route dependency, says which scope the route needs (403 when the
   credential has another). A test enumerates the app's routes and fails on an /api route
   without it.

Credentials, in order: `Authorization: Bearer ds_...` (a token from `doorstep token add`),
`Authorization: Bearer <DOORSTEP_API_TOKEN>` (deprecated single token: appointments and
assistant scopes, as before), or the staff session cookie (read scope only: writing through
the API is for systems, and a cookie is what a cross-site request would carry).
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.web import api_tokens
from bot.web.dashboard import auth
from bot.web.dashboard.auth import StaffUser

if TYPE_CHECKING:
    from bot.bootstrap import App

log = logging.getLogger(__name__)

API_PREFIX = "/api/"
PUBLIC_API_PATHS: frozenset[str] = frozenset()  # /healthz lives outside /api on purpose
LEGACY_SCOPES = frozenset({"appointments", "assistant"})
STATE_KEY = "api_principal"
SCOPE_MARKER = "__doorstep_api_scope__"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a token (by name) or a member of staff."""

    name: str  # "token:<name>" or the staff email, for the audit log
    scopes: frozenset[str] = field(default_factory=frozenset)
    user: StaffUser | None = None


def _bearer(headers: list[tuple[bytes, bytes]]) -> str | None:
    for key, value in headers:
        if key == b"authorization":
            scheme, _, given = value.decode("latin-1").partition(" ")
            return given.strip() if scheme.lower() == "bearer" and given.strip() else ""
    return None


def _session_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    for key, value in headers:
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is no credential, not an error
                return None
            morsel = jar.get(auth.SESSION_COOKIE)
            return morsel.value if morsel is not None else None
    return None


class Authenticator:
    """Turns a request's credentials into a Principal (or None)."""

    def __init__(self, engine: sa.Engine, legacy_token: str | None) -> None:
        self.engine = engine
        self.legacy_token = legacy_token

    def principal(self, bearer: str | None, session: str | None) -> Principal | None:
        now = datetime.now(UTC)  # tokens and sessions expire by the real clock
        if bearer:
            if self.legacy_token and hmac.compare_digest(
                bearer.encode(), self.legacy_token.encode()
            ):
                return Principal("token:DOORSTEP_API_TOKEN", LEGACY_SCOPES)
            with self.engine.connect() as conn:
                token = api_tokens.verify_token(conn, bearer, now=now)
            if token is None:
                return None
            # Best effort: a database that cannot write (a full disk) must still let a
            # monitor read /api/status, which is how an operator learns the disk is full.
            try:
                with self.engine.begin() as conn:
                    api_tokens.note_used(conn, token, now=now)
            except sa.exc.SQLAlchemyError:
                log.warning("could not record the use of API token %s", token.name)
            return Principal(f"token:{token.name}", frozenset({token.scope}))
        if session:
            with self.engine.connect() as conn:
                user = auth.session_user(conn, session, now)
            if user is None or user.must_change_password:
                return None
            return Principal(user.email, frozenset({"read"}), user)
        return None


class ApiGate:
    """ASGI middleware: no valid credential, no /api (401, JSON)."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path.startswith(API_PREFIX) or path == "/api") or path in PUBLIC_API_PATHS:
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        bearer, session = _bearer(headers), _session_token(headers)
        found = None
        if bearer is not None or session:
            found = await run_in_threadpool(self.authenticator.principal, bearer, session)
        if found is None:
            await _refuse(send, bearer is not None)
            return
        scope.setdefault("state", {})[STATE_KEY] = found
        await self.app(scope, receive, send)


async def _refuse(send: Send, had_token: bool) -> None:
    detail = (
        "wrong or revoked token"
        if had_token
        else "send Authorization: Bearer <token> (doorstep token add) or sign in"
    )
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b"Bearer"),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def require(
    scope: str, *, staff_roles: tuple[str, ...] | None = None
) -> Callable[[Request], Principal]:
    """A route dependency: the caller needs `scope` (a token of that scope), or, for `read`
    routes, a staff session (limited to `staff_roles` when given)."""

    def dependency(request: Request) -> Principal:
        found: Any = getattr(request.state, STATE_KEY, None)
        if not isinstance(found, Principal):  # the gate did not run: refuse, never guess
            raise HTTPException(401, "not signed in", headers={"WWW-Authenticate": "Bearer"})
        if found.user is not None:
            if scope != "read" or (staff_roles is not None and found.user.role not in staff_roles):
                raise HTTPException(403, f"this needs a token with the {scope!r} scope")
        elif scope not in found.scopes:
            raise HTTPException(403, f"this needs a token with the {scope!r} scope")
        return found

    setattr(dependency, SCOPE_MARKER, scope)
    return dependency


def principal_of(request: Request) -> Principal:
    found = getattr(request.state, STATE_KEY, None)
    if not isinstance(found, Principal):
        raise HTTPException(401, "not signed in")
    return found


def install(api: Any, app: App) -> None:
    """Put the gate in front of the FastAPI app (called by bot.web.app.create_app)."""
    if app.settings.api_token:
        log.warning(
            "DOORSTEP_API_TOKEN is deprecated: it is accepted for the appointments and "
            "assistant APIs, but one shared token cannot be revoked for one system. Make a "
            "token per system with `doorstep token add NAME --scope appointments|assistant` "
            "and unset DOORSTEP_API_TOKEN."
        )
    api.add_middleware(ApiGate, authenticator=Authenticator(app.engine, app.settings.api_token))
