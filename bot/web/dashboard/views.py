"""The staff dashboard's routes under /staff: thin handlers that check who is asking, read or
call one staff action in one transaction, and redirect (POST, redirect, GET).

Every POST carries a CSRF token; every page needs a session except the sign-in page.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from actions import complaints, handoff, replies
from actions.officers import OfficerError, effective_officers, set_leave, sync_officers
from actions.replies import ActionError, Actor
from actions.wording import LONDON, deadline_in_words
from bot.domain.interaction import SETTLEMENT_CHOICES
from bot.storage.repository import UnitOfWork
from bot.storage.tables_staff import ROLES
from bot.web.dashboard import auth, queries
from bot.web.dashboard.auth import StaffUser

if TYPE_CHECKING:
    from bot.bootstrap import App

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
STATIC = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
}
SESSION_COOKIE = "ds_staff"
LOGIN_COOKIE = "ds_login"
MAX_FAILED_LOGINS = 5
FAILED_LOGIN_WINDOW = 15 * 60.0


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
    templates.env.globals["OUTCOMES"] = replies.OUTCOMES
    templates.env.globals["SETTLEMENT_CHOICES"] = SETTLEMENT_CHOICES
    return templates


class _LoginThrottle:
    """At most MAX_FAILED_LOGINS failures per address in the window (in-process)."""

    def __init__(self) -> None:
        self._failures: dict[str, list[float]] = {}

    def blocked(self, email: str) -> bool:
        now = time.monotonic()
        recent = [t for t in self._failures.get(email, []) if now - t < FAILED_LOGIN_WINDOW]
        self._failures[email] = recent
        return len(recent) >= MAX_FAILED_LOGINS

    def fail(self, email: str) -> None:
        self._failures.setdefault(email, []).append(time.monotonic())

    def clear(self, email: str) -> None:
        self._failures.pop(email, None)


def build_router(app: App) -> APIRouter:
    secret = secret_key(app)
    templates = build_templates()
    settings = app.settings
    engine = app.engine
    throttle = _LoginThrottle()
    with engine.begin() as conn:
        sync_officers(conn, settings.officers)  # OOO: config officers, leave edited here

    router = APIRouter(prefix="/staff")

    # ---- helpers -------------------------------------------------------------------------

    def wall_now() -> datetime:
        # Sessions expire by the real clock, not the business clock tests move forward.
        return datetime.now(UTC)

    def user_for(request: Request) -> StaffUser | None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        with engine.connect() as conn:
            return auth.session_user(conn, token, wall_now())

    async def require_user(request: Request) -> StaffUser:
        user = await run_in_threadpool(user_for, request)
        if user is None:
            target = "/staff/login?" + urlencode({"next": request.url.path})
            raise HTTPException(status_code=303, headers={"Location": target})
        return user

    def csrf_for(request: Request) -> str:
        return auth.sign(secret, "csrf", request.cookies.get(SESSION_COOKIE, ""))

    def check_csrf(request: Request, token: str) -> None:
        session = request.cookies.get(SESSION_COOKIE, "")
        if not session or not auth.check(secret, "csrf", session, token):
            raise HTTPException(status_code=403, detail="The form has expired. Reload the page.")

    def flash_query(message: str, *, error: bool = False) -> str:
        key = "err" if error else "msg"
        return urlencode({key: message, "sig": auth.sign(secret, "flash", message)[:32]})

    def flash_from(request: Request) -> tuple[str | None, str | None]:
        """The message a redirect carries, shown only if we signed it (no injected text)."""
        sig = request.query_params.get("sig", "")
        msg, err = request.query_params.get("msg"), request.query_params.get("err")
        text = msg or err
        if not text or not hmac.compare_digest(auth.sign(secret, "flash", text)[:32], sig):
            return None, None
        return (msg, None) if msg else (None, err)

    def page(
        request: Request, name: str, user: StaffUser | None, status_code: int = 200, **ctx: Any
    ) -> HTMLResponse:
        flash, error = flash_from(request)
        context = {
            "user": user,
            "csrf": csrf_for(request) if user else "",
            "flash": ctx.pop("flash", None) or flash,
            "error": ctx.pop("error", None) or error,
            "org": settings.organisation,
            **ctx,
        }
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def redirect(url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)

    def actor(user: StaffUser) -> Actor:
        return Actor(email=user.email, name=user.name, role=user.role, team=user.team)

    async def act(
        user: StaffUser,
        interaction_id: int,
        action: Callable[[UnitOfWork], str],
        *,
        roles: tuple[str, ...] | None = None,
    ) -> RedirectResponse:
        """Run one staff action in one transaction and go back to the interaction."""
        back = f"/staff/interactions/{interaction_id}"
        if roles is not None and user.role not in roles:
            raise HTTPException(status_code=403, detail="Your role cannot do that.")

        def work() -> str:
            with UnitOfWork(engine, app.now) as uow:
                row = queries.interaction_row(uow.conn, interaction_id)
                if row is None:
                    raise HTTPException(status_code=404, detail="No such interaction.")
                if not queries.can_see(user, row):
                    raise HTTPException(status_code=403, detail="Not in your queues.")
                message = action(uow)
                uow.commit()
                return message

        try:
            message = await run_in_threadpool(work)
        except ActionError as exc:
            return redirect(f"{back}?{flash_query(str(exc), error=True)}")
        app.outbox.wake()  # on the event loop's thread: the reply leaves at once
        return redirect(f"{back}?{flash_query(message)}")

    # ---- static files --------------------------------------------------------------------

    @router.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        if name not in STATIC:
            raise HTTPException(status_code=404)
        return Response(
            (HERE / "static" / name).read_bytes(),
            media_type=STATIC[name],
            headers={"Cache-Control": "max-age=300"},
        )

    # ---- sign-in -------------------------------------------------------------------------

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/staff/") -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        response = page(
            request,
            "login.html",
            None,
            next=_safe_next(next),
            login_csrf=auth.sign(secret, "login", nonce),
        )
        response.set_cookie(
            LOGIN_COOKIE,
            nonce,
            max_age=3600,
            httponly=True,
            samesite="strict",
            secure=settings.dashboard.cookie_secure,
            path="/staff",
        )
        return response

    @router.post("/login", response_model=None)
    def login(
        request: Request,
        email: Annotated[str, Form()],
        password: Annotated[str, Form()],
        csrf: Annotated[str, Form()],
        next: Annotated[str, Form()] = "/staff/",
    ) -> Response:
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        if not nonce or not auth.check(secret, "login", nonce, csrf):
            raise HTTPException(status_code=403, detail="The form has expired. Reload the page.")
        email = email.strip().lower()

        def again(message: str, status: int) -> HTMLResponse:
            return page(
                request,
                "login.html",
                None,
                status_code=status,
                error=message,
                email=email,
                next=_safe_next(next),
                login_csrf=csrf,
            )

        if throttle.blocked(email):
            return again("Too many failed attempts. Wait 15 minutes and try again.", 429)
        with engine.begin() as conn:
            user = auth.authenticate(conn, email, password, wall_now())
            if user is None:
                throttle.fail(email)
                return again("The email address or password is not right.", 401)
            token = auth.start_session(
                conn, user.id, hours=settings.dashboard.session_hours, now=wall_now()
            )
        throttle.clear(email)
        response = redirect(_safe_next(next))
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=settings.dashboard.session_hours * 3600,
            httponly=True,
            samesite="lax",
            secure=settings.dashboard.cookie_secure,
            path="/staff",
        )
        response.delete_cookie(LOGIN_COOKIE, path="/staff")
        return response

    @router.post("/logout")
    def logout(request: Request, csrf: Annotated[str, Form()]) -> RedirectResponse:
        check_csrf(request, csrf)
        token = request.cookies.get(SESSION_COOKIE, "")
        with engine.begin() as conn:
            auth.end_session(conn, token)
        response = redirect("/staff/login")
        response.delete_cookie(SESSION_COOKIE, path="/staff")
        return response

    # ---- the queue -----------------------------------------------------------------------

    @router.get("/", response_class=HTMLResponse)
    async def queue(
        request: Request,
        view: str | None = None,
        team: str | None = None,
        after: str | None = None,
        fragment: str | None = None,
    ) -> HTMLResponse:
        user = await require_user(request)
        scope = queries.scope_for(user, view, team or None)
        now = app.now()

        def read() -> queries.QueuePage:
            with engine.connect() as conn:
                return queries.queue_page(
                    conn,
                    scope,
                    now=now,
                    limit=settings.dashboard.page_size,
                    after=queries.parse_cursor(after),
                )

        result = await run_in_threadpool(read)
        name = "_queue_live.html" if fragment == "live" else "queue.html"
        return page(
            request,
            name,
            user,
            result=result,
            scope=scope,
            views=queries.VIEWS.get(user.role, ("mine",)),
            teams=settings.teams,
            after=after,
            now=now,
            live=True,
        )

    # ---- one interaction -----------------------------------------------------------------

    @router.get("/interactions/{interaction_id}", response_class=HTMLResponse)
    async def interaction(
        request: Request, interaction_id: int, fragment: str | None = None
    ) -> HTMLResponse:
        user = await require_user(request)
        now = app.now()

        def read() -> dict[str, Any]:
            with engine.connect() as conn:
                row = queries.interaction_row(conn, interaction_id)
                if row is None:
                    raise HTTPException(status_code=404, detail="No such interaction.")
                if not queries.can_see(user, row):
                    raise HTTPException(status_code=403, detail="Not in your queues.")
                clocks = [
                    {
                        "policy": s.clock.policy,
                        "due_at": s.clock.due_at,
                        "deadline": deadline_in_words(s.clock.due_at, now=now),
                        "state": queries.clock_state(
                            due_at=s.clock.due_at,
                            warn_at=s.clock.warn_at,
                            paused_at=s.clock.paused_at,
                            stopped_at=s.clock.stopped_at,
                            now=now,
                        ),
                        "left": queries.time_left(s.clock.due_at, now),
                        "outcome": s.clock.outcome,
                        "outcome_reason": s.clock.outcome_reason,
                        "extended_days": s.clock.extended_days,
                        "extension_reason": s.clock.extension_reason,
                        "stopped_at": s.clock.stopped_at,
                    }
                    for s in app.clocks.clocks_for(conn, interaction_id)
                ]
                case = replies.load_case(conn, interaction_id)
                return {
                    "row": row,
                    "clocks": clocks,
                    "timeline": queries.timeline(conn, interaction_id),
                    "history": queries.history(conn, row.contact_id),
                    "identities": queries.identities(conn, row.contact_id),
                    "stage": complaints.current_stage(case),
                    "handlers": complaints.stage_handlers(conn, interaction_id),
                    "staff": [u for u in auth.list_users(conn) if u.active],
                    "officers": effective_officers(conn),
                    "allowed_extension": {
                        s: complaints.allowed_extension_days(app, s) for s in (1, 2)
                    },
                }

        data = await run_in_threadpool(read)
        name = "_interaction_live.html" if fragment == "live" else "interaction.html"
        return page(
            request,
            name,
            user,
            **data,
            teams=settings.teams,
            nonce=uuid.uuid4().hex,
            handler_roles=complaints.HANDLER_ROLES,
            live=True,
        )

    @router.post("/interactions/{interaction_id}/reply")
    async def reply(
        request: Request,
        interaction_id: int,
        csrf: Annotated[str, Form()],
        text: Annotated[str, Form()] = "",
        nonce: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        user = await require_user(request)
        check_csrf(request, csrf)
        now = app.now()

        def do(uow: UnitOfWork) -> str:
            sent = replies.send_reply(
                uow,
                app,
                interaction_id,
                text,
                actor=actor(user),
                nonce=nonce or uuid.uuid4().hex,
                now=now,
            )
            return "Reply sent." if sent else "That reply was already sent."

        return await act(user, interaction_id, do)

    @router.post("/interactions/{interaction_id}/pause")
    async def pause(
        request: Request, interaction_id: int, csrf: Annotated[str, Form()]
    ) -> RedirectResponse:
        user = await require_user(request)
        check_csrf(request, csrf)
        now = app.now()

        def do(uow: UnitOfWork) -> str:
            n = replies.pause_clocks(uow, app, interaction_id, actor=actor(user), now=now)
            return f"Paused {n} clock{'s' if n != 1 else ''} while waiting on the resident."

        return await act(user, interaction_id, do)

    @router.post("/interactions/{interaction_id}/resume")
    async def resume(
        request: Request, interaction_id: int, csrf: Annotated[str, Form()]
    ) -> RedirectResponse:
        user = await require_user(request)
        check_csrf(request, csrf)
        now = app.now()

        def do(uow: UnitOfWork) -> str:
            n = replies.resume_clocks(uow, app, interaction_id, actor=actor(user), now=now)
            return f"Resumed {n} clock{'s' if n != 1 else ''}."

        return await act(user, interaction_id, do)

    @router.post("/interactions/{interaction_id}/close")
    async def close(
        request: Request,
        interaction_id: int,
        csrf: Annotated[str, Form()],
        outcome: Annotated[str, Form()] = "",
        note: Annotated[str, Form()] = "",
        tell: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        user = await require_user(request)
        check_csrf(request, csrf)
        now = app.now()
        # What happened to each open promise: one field per clock, "settle-<policy>".
        settlements = {
            key.removeprefix("settle-"): str(value)
            for key, value in (await request.form()).multi_items()
            if key.startswith("settle-") and isinstance(value, str)
        }

        def do(uow: UnitOfWork) -> str:
            replies.close_case(
                uow,
                app,
                interaction_id,
                outcome=outcome,
                note=note,
                tell_resident=bool(tell),
                actor=actor(user),
                now=now,
                settlements=settlements,
            )
            return "Closed."

        return await act(user, interaction_id, do)

    @router.post("/interactions/{interaction_id}/reopen")
    async def reopen(
        request: Request, interaction_id: int, csrf: Annotated[str, Form()]
    ) -> RedirectResponse:
        user = await require_user(request)
        check_csrf(request, csrf)
        now = app.now()

        def do(uow: UnitOfWork) -> str:
            replies.reopen_case(uow, interaction_id, actor=actor(user), now=now)
            return "Reopened."

        return await act(user, interaction_id, do)

    @router.post("/interactions/{interaction_id}/take")
    async def take(
        request: Request, interaction_id: int, csrf: Annotated[str, Form()]
    ) -> RedirectResponse:
        user = await require_user(request)
        check_csrf(request, csrf)
        now = app.now()

        def do(uow: UnitOfWork) -> str:
            handoff.take(uow, app, interaction_id, actor=actor(user), now=now)
            return "It is yours now."

        return await act(user, interaction_id, do)

    @router.post("/interactions/{interaction_id}/transfer")
    async def transfer(
        request: Request,
        interaction_id: int,
        csrf: Annotated[str, Form()],
        team: Annotated[str, Form()] = "",
        owner: Annotated[str, Form()] = "",
        note: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        user = await require_user(request)
        check_csrf(request, csrf)
        now = app.now()

        def do(uow: UnitOfWork) -> str:
            done = handoff.transfer(
                uow,
                app,
                interaction_id,
                team=team,
                owner=owner or None,
                note=note,
                actor=actor(user),
                now=now,
            )
            return (
                f"Passed to {done.owner_name}. The resident has been told; the new deadline is "
                f"{deadline_in_words(done.due_at, now=now)}."
            )

        return await act(user, interaction_id, do)

    # ---- complaints (COMPLAINT) ----------------------------------------------------------

    @router.post("/interactions/{interaction_id}/complaint/mark")
    async def complaint_mark(
        request: Request, interaction_id: int, csrf: Annotated[str, Form()]
    ) -> RedirectResponse:
        user = await require_user(request)
        check_csrf(request, csrf)
        now = app.now()

        def do(uow: UnitOfWork) -> str:
            complaints.mark_as_complaint(uow, app, interaction_id, actor=actor(user), now=now)
            return "Marked as a stage 1 complaint. The procedure has been sent to the resident."

        return await act(user, interaction_id, do)

    @router.post("/interactions/{interaction_id}/complaint/acknowledge")
    async def complaint_ack(
        request: Request,
        interaction_id: int,
        csrf: Annotated[str, Form()],
        handler: Annotated[str, Form()] = "",
        summary: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        user = await require_user(request)
        check_csrf(request, csrf)
        now = app.now()

        def do(uow: UnitOfWork) -> str:
            due = complaints.acknowledge(
                uow,
                app,
                interaction_id,
                handler=handler or user.email,
                summary=summary,
                actor=actor(user),
                now=now,
            )
            return f"Acknowledged. The answer is due {deadline_in_words(due, now=now)}."

        return await act(user, interaction_id, do, roles=complaints.HANDLER_ROLES)

    @router.post("/interactions/{interaction_id}/complaint/extend")
    async def complaint_extend(
        request: Request,
        interaction_id: int,
        csrf: Annotated[str, Form()],
        days: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        user = await require_user(request)
        check_csrf(request, csrf)
        now = app.now()

        def do(uow: UnitOfWork) -> str:
            try:
                count = int(days)
            except ValueError:
                raise ActionError("Give the number of working days.") from None
            due = complaints.extend(
                uow, app, interaction_id, days=count, reason=reason, actor=actor(user), now=now
            )
            return (
                f"Extended. The resident has been told; the answer is now due "
                f"{deadline_in_words(due, now=now)}."
            )

        return await act(user, interaction_id, do, roles=complaints.HANDLER_ROLES)

    @router.post("/interactions/{interaction_id}/complaint/escalate")
    async def complaint_escalate(
        request: Request,
        interaction_id: int,
        csrf: Annotated[str, Form()],
        handler: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        user = await require_user(request)
        check_csrf(request, csrf)
        now = app.now()

        def do(uow: UnitOfWork) -> str:
            due = complaints.escalate(
                uow, app, interaction_id, handler=handler, reason=reason, actor=actor(user), now=now
            )
            return (
                f"Escalated to stage 2. It must be acknowledged {deadline_in_words(due, now=now)}."
            )

        return await act(user, interaction_id, do, roles=complaints.HANDLER_ROLES)

    @router.post("/interactions/{interaction_id}/complaint/respond")
    async def complaint_respond(
        request: Request,
        interaction_id: int,
        csrf: Annotated[str, Form()],
        text: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        user = await require_user(request)
        check_csrf(request, csrf)
        now = app.now()

        def do(uow: UnitOfWork) -> str:
            complaints.respond(uow, app, interaction_id, body=text, actor=actor(user), now=now)
            return "Answer sent."

        return await act(user, interaction_id, do, roles=complaints.HANDLER_ROLES)

    # ---- officers' out-of-office (OOO), admin only ---------------------------------------

    @router.get("/officers", response_class=HTMLResponse)
    async def officers(request: Request) -> HTMLResponse:
        user = await require_user(request)
        _admin_only(user)

        def read() -> list[Any]:
            with engine.connect() as conn:
                return effective_officers(conn)

        found = await run_in_threadpool(read)
        return page(
            request,
            "officers.html",
            user,
            officers=found,
            teams=settings.teams,
            today=app.now().astimezone(LONDON).date(),
        )

    @router.post("/officers/leave")
    async def officer_leave(
        request: Request,
        csrf: Annotated[str, Form()],
        email: Annotated[str, Form()],
        until: Annotated[str, Form()] = "",
        cover: Annotated[str, Form()] = "",
        clear: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        user = await require_user(request)
        _admin_only(user)
        check_csrf(request, csrf)
        today = app.now().astimezone(LONDON).date()

        def work() -> str:
            try:
                back = None if clear or not until else date.fromisoformat(until)
            except ValueError:
                raise OfficerError("Give the return date as a date.") from None
            with UnitOfWork(engine, app.now) as uow:
                officer = set_leave(uow.conn, email, until=back, cover=cover, today=today)
                uow.add_event(
                    None,
                    "officer_leave",
                    {"by": user.email, "officer": officer.email, "until": until or None},
                )
                uow.commit()
            if officer.on_leave_until is None:
                return f"{officer.name} is at work."
            return f"{officer.name} is away until {officer.on_leave_until:%d %B %Y}."

        try:
            message = await run_in_threadpool(work)
        except OfficerError as exc:
            return redirect(f"/staff/officers?{flash_query(str(exc), error=True)}")
        return redirect(f"/staff/officers?{flash_query(message)}")

    # ---- users, admin only ---------------------------------------------------------------

    @router.get("/users", response_class=HTMLResponse)
    async def users(request: Request) -> HTMLResponse:
        user = await require_user(request)
        _admin_only(user)

        def read() -> list[StaffUser]:
            with engine.connect() as conn:
                return auth.list_users(conn)

        found = await run_in_threadpool(read)
        return page(request, "users.html", user, users=found, roles=ROLES, teams=settings.teams)

    @router.post("/users")
    async def add_user(
        request: Request,
        csrf: Annotated[str, Form()],
        email: Annotated[str, Form()] = "",
        name: Annotated[str, Form()] = "",
        role: Annotated[str, Form()] = "",
        team: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        user = await require_user(request)
        _admin_only(user)
        check_csrf(request, csrf)

        def work() -> str:
            with engine.begin() as conn:
                made = auth.create_user(
                    conn,
                    email=email,
                    name=name,
                    role=role,
                    team=team or None,
                    password=password,
                    now=wall_now(),
                )
            return f"Added {made.name} ({auth.ROLE_NAMES[made.role]})."

        try:
            message = await run_in_threadpool(work)
        except auth.UserError as exc:
            return redirect(f"/staff/users?{flash_query(str(exc), error=True)}")
        return redirect(f"/staff/users?{flash_query(message)}")

    @router.post("/users/{user_id}/active")
    async def user_active(
        request: Request,
        user_id: int,
        csrf: Annotated[str, Form()],
        active: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        user = await require_user(request)
        _admin_only(user)
        check_csrf(request, csrf)
        if user_id == user.id and not active:
            return redirect(
                f"/staff/users?{flash_query('You cannot switch yourself off.', error=True)}"
            )

        def work() -> None:
            with engine.begin() as conn:
                auth.set_active(conn, user_id, bool(active))

        await run_in_threadpool(work)
        return redirect(f"/staff/users?{flash_query('Saved.')}")

    # ---- live updates (server-sent events) -----------------------------------------------

    @router.get("/live")
    async def live(
        request: Request, after: int | None = None, max_events: int = 1000
    ) -> StreamingResponse:
        """A small `change` event whenever an interaction changes (the events table, read by
        id). The stream ends after `max_events`; EventSource reconnects with Last-Event-ID."""
        await require_user(request)
        last_header = request.headers.get("last-event-id", "")
        if after is None and last_header.isdigit():
            after = int(last_header)

        def latest() -> int:
            with engine.connect() as conn:
                return queries.latest_event_id(conn)

        def newer(since: int) -> list[tuple[int, int | None, str]]:
            with engine.connect() as conn:
                return queries.events_after(conn, since)

        start = after if after is not None else await run_in_threadpool(latest)
        poll = settings.dashboard.live_poll_seconds

        async def stream() -> AsyncIterator[str]:
            last, sent, idle = start, 0, 0.0
            yield f"retry: 2000\nid: {last}\nevent: hello\ndata: {{}}\n\n"
            while sent < max_events:
                if await request.is_disconnected():
                    return
                found = await run_in_threadpool(newer, last)
                for event_id, interaction_id, kind in found:
                    data = json.dumps({"interaction": interaction_id, "kind": kind})
                    yield f"id: {event_id}\nevent: change\ndata: {data}\n\n"
                    last, sent = event_id, sent + 1
                    if sent >= max_events:
                        return
                if found:
                    idle = 0.0
                    continue
                await asyncio.sleep(poll)
                idle += poll
                if idle >= 15:  # keeps proxies from closing an idle stream
                    idle = 0.0
                    yield ": ping\n\n"

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router


def _admin_only(user: StaffUser) -> None:
    if user.role != "admin":
        raise HTTPException(status_code=403, detail="Only an admin can do that.")


def _safe_next(target: str) -> str:
    """Only our own pages: an open redirect would let a phishing link bounce through us."""
    if target.startswith("/staff") and not target.startswith("//") and "\\" not in target:
        return target
    return "/staff/"
