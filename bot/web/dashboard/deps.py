"""What every dashboard route shares: the `Dashboard` context (templates, the secret key,
pages and redirects, one staff action in one transaction) and the FastAPI dependencies for
the signed-in user and the CSRF check.

Route modules declare what they need in their signatures:

    user: CurrentUser        signed in (otherwise a redirect to the sign-in page)
    user: FormUser           signed in, and the form's CSRF token is right (every POST)
    user: AdminUser          signed in as an admin (AdminFormUser for an admin's POST)
    ctx: Ctx                 the Dashboard context

The context reaches the dependencies through request.state (the parent router binds it), so
the dependencies are plain module-level functions, and the annotations are resolvable.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

import fastapi
from fastapi import Depends, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from actions import replies
from actions.replies import ActionError, Actor
from actions.wording import LONDON
from bot.domain.interaction import SETTLEMENT_CHOICES
from bot.storage.repository import UnitOfWork
from bot.web.dashboard import audit, auth, glance, queries
from bot.web.dashboard.auth import StaffUser
from bot.web.dashboard.throttle import LoginThrottle
from channels.email.health import mailbox_states

if TYPE_CHECKING:
    from bot.bootstrap import App

log = logging.getLogger(__name__)

HERE = Path(__file__).parent

# A row id in a path or query: a number the databases can hold (SQLite and PostgreSQL keep
# 64-bit integers), so a hostile or mistyped id is refused with a 422 before any query,
# never an overflow inside the driver.
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, fastapi.Path(ge=1, le=MAX_ROW_ID)]
RowAfter = Annotated[int, fastapi.Query(ge=0, le=MAX_ROW_ID)]  # "rows after this id"
SESSION_COOKIE = auth.SESSION_COOKIE
LOGIN_COOKIE = "ds_login"
FLASH_COOKIE = "ds_flash"
MFA_COOKIE = "ds_mfa"  # password right, second factor still to come (signed, 5 minutes)
STATE_KEY = "dashboard"


def secret_key(app: App) -> str:
    """settings.secret_key (DOORSTEP_SECRET_KEY); in development one is made up at start,
    which signs everyone out when the server restarts."""
    configured = app.settings.secret_key
    if configured:
        return configured
    made = app.extras.get("dashboard_secret")
    if not isinstance(made, str):
        log.warning(
            "DOORSTEP_SECRET_KEY is not set: using a random key for this run; staff sessions "
            "end when the server restarts. Set it in production."
        )
        made = secrets.token_urlsafe(32)
        app.extras["dashboard_secret"] = made
    return made


def _london(moment: datetime | None) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M}"


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat()


def build_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["london"] = _london
    templates.env.filters["iso"] = _iso
    templates.env.globals["ROLE_NAMES"] = auth.ROLE_NAMES
    templates.env.globals["VIEW_NAMES"] = queries.VIEW_NAMES
    templates.env.globals["STATE_NAMES"] = queries.STATE_NAMES
    # The queue and case pages say names, not ids (issue 18).
    templates.env.globals.update(
        promise_name=glance.promise_name,
        channel_name=glance.channel_name,
        topic_name=glance.topic_name,
        flags_of=glance.flags,
    )
    templates.env.globals["OUTCOMES"] = replies.OUTCOMES
    templates.env.globals["SETTLEMENT_CHOICES"] = SETTLEMENT_CHOICES
    return templates


def wall_now() -> datetime:
    # Sessions expire by the real clock, not the business clock tests move forward.
    return datetime.now(UTC)


_CHANNEL_NAMES = {
    "social": "Social media",
    "sms": "Text messages",
    "email": "Email",
    "webchat": "Web chat",
}


def _channel_problems(app: App) -> list[tuple[str, str]]:
    from bot.domain.model import Channel

    found: list[tuple[str, str]] = []
    for channel in Channel:
        health = getattr(app.senders.find(channel), "health", None)
        if callable(health):
            for problem in health().values():
                found.append((_CHANNEL_NAMES.get(channel.value, channel.value), str(problem)))
    return found


def _health_banner(ctx: Dashboard) -> dict[str, list[str]]:
    from bot.web.dashboard.routes.health import banner  # the route module imports this one

    return banner(ctx)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def actor(user: StaffUser) -> Actor:
    return Actor(email=user.email, name=user.name, role=user.role, team=user.team)


def safe_next(target: str) -> str:
    """Only our own pages: an open redirect would let a phishing link bounce through us."""
    if target.startswith("/staff") and not target.startswith("//") and "\\" not in target:
        return target
    return "/staff/"


def settings_secure(app: App) -> bool:
    return app.settings.dashboard.cookie_secure or app.settings.public_url.lower().startswith(
        "https://"
    )


class Dashboard:
    """The dashboard's shared state and helpers, built once per app by `build_router`."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = app.settings
        self.engine = app.engine
        self.secret = secret_key(app)
        self.templates = build_templates()
        self.throttle = LoginThrottle()
        # Secure whenever the public address is https (a cookie sent over plain http can be
        # read on the way); dashboard.cookie_secure forces it behind a TLS-terminating proxy
        # whose public_url is not set.
        self.cookie_secure = settings_secure(app)

    def totp_required(self, user: StaffUser) -> bool:
        return user.role == "admin" or self.settings.dashboard.totp_required_for_all

    # ---- sessions and CSRF ---------------------------------------------------------------

    def user_for(self, request: Request) -> StaffUser | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        with self.engine.connect() as conn:
            return auth.session_user(conn, token, wall_now())

    def csrf_for(self, request: Request) -> str:
        return auth.sign(self.secret, "csrf", request.cookies.get(SESSION_COOKIE, ""))

    def check_csrf(self, request: Request, token: str) -> None:
        session = request.cookies.get(SESSION_COOKIE, "")
        if not session or not auth.check(self.secret, "csrf", session, token):
            raise HTTPException(status_code=403, detail="The form has expired. Reload the page.")

    # ---- pages and messages --------------------------------------------------------------

    def flash_redirect(self, url: str, message: str, *, error: bool = False) -> RedirectResponse:
        """Redirect with a message for the next page, in a short-lived signed cookie rather
        than the URL: what a message names (a colleague's address, a resident's words) must
        not end up in access logs, browser history or a Referer."""
        payload = base64.urlsafe_b64encode(
            json.dumps(["err" if error else "msg", message]).encode()
        )
        value = payload.decode()
        response = redirect(url)
        response.set_cookie(
            FLASH_COOKIE,
            f"{value}.{auth.sign(self.secret, 'flash', value)[:32]}",
            max_age=60,
            httponly=True,
            samesite="lax",
            secure=self.cookie_secure,
            path="/staff",
        )
        return response

    def flash_from(self, request: Request) -> tuple[str | None, str | None]:
        """The message a redirect left, shown only if we signed it (no injected text)."""
        value, _, sig = request.cookies.get(FLASH_COOKIE, "").rpartition(".")
        expected = auth.sign(self.secret, "flash", value)[:32].encode()
        if not value or not hmac.compare_digest(expected, sig.encode("utf-8", "surrogatepass")):
            return None, None
        try:
            kind, text = json.loads(base64.urlsafe_b64decode(value.encode()))
        except ValueError:
            return None, None
        return (None, str(text)) if kind == "err" else (str(text), None)

    def page(
        self,
        request: Request,
        name: str,
        user: StaffUser | None,
        status_code: int = 200,
        **ctx: Any,
    ) -> HTMLResponse:
        flash, error = (
            self.flash_from(request) if request.cookies.get(FLASH_COOKIE) else (None, None)
        )
        context = {
            "user": user,
            "csrf": self.csrf_for(request) if user else "",
            "flash": ctx.pop("flash", None) or flash,
            "error": ctx.pop("error", None) or error,
            "org": self.settings.organisation,
            # A mailbox that cannot be read (a revoked secret...): staff tell IT at once.
            "mailbox_problems": [b for b in mailbox_states(self.app.extras) if not b["ok"]]
            if user
            else [],
            # A channel's own word on its health (an expired social page token).
            "channel_problems": _channel_problems(self.app) if user else [],
            # MONITOR: a channel the mystery shopper found silent or slow, alerts not sent.
            **(_health_banner(self) if user and not name.startswith("_") else {}),
            **ctx,
        }
        response = self.templates.TemplateResponse(request, name, context, status_code=status_code)
        if request.cookies.get(FLASH_COOKIE) and not name.startswith("_"):
            response.delete_cookie(FLASH_COOKIE, path="/staff")  # shown once
        return response

    # ---- one staff action ----------------------------------------------------------------

    async def act(
        self,
        user: StaffUser,
        interaction_id: int,
        action: Callable[[UnitOfWork], str],
        *,
        audit_as: str,
        roles: tuple[str, ...] | None = None,
    ) -> RedirectResponse:
        """Run one staff action in one transaction (with its audit record) and go back to
        the interaction."""
        back = f"/staff/interactions/{interaction_id}"
        if roles is not None and user.role not in roles:
            raise HTTPException(status_code=403, detail="Your role cannot do that.")

        def work() -> str:
            with UnitOfWork(self.engine, self.app.now) as uow:
                row = queries.interaction_row(uow.conn, interaction_id)
                if row is None:
                    raise HTTPException(status_code=404, detail="No such interaction.")
                if not queries.can_see(user, row):
                    raise HTTPException(status_code=403, detail="Not in your queues.")
                message = action(uow)
                audit.record(
                    uow.conn,
                    actor=user.email,
                    user_id=user.id,
                    action=audit_as,
                    interaction_id=interaction_id,
                    now=wall_now(),
                )
                uow.commit()
                return message

        try:
            message = await run_in_threadpool(work)
        except ActionError as exc:
            return self.flash_redirect(back, str(exc), error=True)
        self.app.outbox.wake()  # on the event loop's thread: the reply leaves at once
        return self.flash_redirect(back, message)

    # ---- binding -------------------------------------------------------------------------

    def bind(self, request: Request) -> None:
        """The parent router's dependency: makes this context reachable from the others."""
        setattr(request.state, STATE_KEY, self)


def dashboard(request: Request) -> Dashboard:
    found = getattr(request.state, STATE_KEY, None)
    if not isinstance(found, Dashboard):
        raise RuntimeError("dashboard routes must be included through build_router")
    return found


Ctx = Annotated[Dashboard, Depends(dashboard)]
PASSWORD_CHANGE_PATHS = frozenset({"/staff/account", "/staff/account/password", "/staff/logout"})


async def current_user(request: Request, ctx: Ctx) -> StaffUser:
    user = await run_in_threadpool(ctx.user_for, request)
    if user is None:
        target = "/staff/login?" + urlencode({"next": request.url.path})
        raise HTTPException(status_code=303, headers={"Location": target})
    if user.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
        # After an admin's reset the temporary password opens one page: choose your own.
        raise HTTPException(status_code=303, headers={"Location": "/staff/account"})
    return user


CurrentUser = Annotated[StaffUser, Depends(current_user)]


def form_user(
    request: Request, ctx: Ctx, user: CurrentUser, csrf: Annotated[str, Form()]
) -> StaffUser:
    """Signed in, and the form carries this session's CSRF token."""
    ctx.check_csrf(request, csrf)
    return user


FormUser = Annotated[StaffUser, Depends(form_user)]


def _admin(user: StaffUser) -> StaffUser:
    if user.role != "admin":
        raise HTTPException(status_code=403, detail="Only an admin can do that.")
    return user


def admin_user(user: CurrentUser) -> StaffUser:
    return _admin(user)


def admin_form_user(user: FormUser) -> StaffUser:
    return _admin(user)


AdminUser = Annotated[StaffUser, Depends(admin_user)]
AdminFormUser = Annotated[StaffUser, Depends(admin_form_user)]
