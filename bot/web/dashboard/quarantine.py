"""The quarantine page for admins (issue 14): messages that could not be handled wait here
with a short, classified reason and never their content; an admin sends one through again
or takes it over by hand. Its own router, with the dashboard's sign-in and CSRF rules."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from bot.service import quarantine
from bot.web.dashboard import auth
from bot.web.dashboard.auth import StaffUser
from bot.web.dashboard.views import SESSION_COOKIE, build_templates, secret_key

if TYPE_CHECKING:
    from bot.bootstrap import App


def build_router(app: App) -> APIRouter:
    secret = secret_key(app)
    templates = build_templates()
    engine = app.engine
    router = APIRouter(prefix="/staff")

    async def require_admin(request: Request) -> StaffUser:
        token = request.cookies.get(SESSION_COOKIE)

        def read() -> StaffUser | None:
            if not token:
                return None
            with engine.connect() as conn:
                # Sessions expire by the real clock, as on the other dashboard pages.
                return auth.session_user(conn, token, datetime.now(UTC))

        user = await run_in_threadpool(read)
        if user is None:
            target = "/staff/login?" + urlencode({"next": request.url.path})
            raise HTTPException(status_code=303, headers={"Location": target})
        if user.role != "admin":
            raise HTTPException(status_code=403, detail="Only an admin can do that.")
        return user

    def check_csrf(request: Request, token: str) -> None:
        session = request.cookies.get(SESSION_COOKIE, "")
        if not session or not auth.check(secret, "csrf", session, token):
            raise HTTPException(status_code=403, detail="The form has expired. Reload the page.")

    def back(message: str, *, error: bool = False) -> RedirectResponse:
        key = "err" if error else "msg"
        query = urlencode({key: message, "sig": auth.sign(secret, "flash", message)[:32]})
        return RedirectResponse(f"/staff/quarantine?{query}", status_code=303)

    @router.get("/quarantine", response_class=HTMLResponse)
    async def waiting_room(request: Request) -> HTMLResponse:
        user = await require_admin(request)

        def read() -> list[quarantine.Waiting]:
            with engine.connect() as conn:
                return quarantine.waiting(conn)

        rows = await run_in_threadpool(read)
        flash, error = _flash(request, secret)
        context = {
            "user": user,
            "csrf": auth.sign(secret, "csrf", request.cookies.get(SESSION_COOKIE, "")),
            "flash": flash,
            "error": error,
            "org": app.settings.organisation,
            "rows": rows,
        }
        return templates.TemplateResponse(request, "quarantine.html", context)

    @router.post("/quarantine/{inbound_id}/retry")
    async def retry(
        request: Request, inbound_id: int, csrf: Annotated[str, Form()]
    ) -> RedirectResponse:
        await require_admin(request)
        check_csrf(request, csrf)

        def work() -> bool:
            with engine.begin() as conn:
                return quarantine.retry(conn, inbound_id)

        if not await run_in_threadpool(work):
            return back("That message is no longer waiting.", error=True)
        runtime = getattr(request.app.state, "runtime", None)
        if runtime is not None:
            runtime.wake_inbound()  # handled now, not at the next poll
        return back(f"Message {inbound_id} is being handled again.")

    @router.post("/quarantine/{inbound_id}/by-hand")
    async def by_hand(
        request: Request, inbound_id: int, csrf: Annotated[str, Form()]
    ) -> RedirectResponse:
        user = await require_admin(request)
        check_csrf(request, csrf)

        def work() -> bool:
            with engine.begin() as conn:
                return quarantine.handle_by_hand(conn, inbound_id, user.email)

        if not await run_in_threadpool(work):
            return back("That message is no longer waiting.", error=True)
        return back(f"Message {inbound_id} is marked as handled by hand.")

    return router


def _flash(request: Request, secret: str) -> tuple[str | None, str | None]:
    """A redirect's message, shown only when we signed it (no injected text)."""
    sig = request.query_params.get("sig", "")
    msg, err = request.query_params.get("msg"), request.query_params.get("err")
    text = msg or err
    if not text or not hmac.compare_digest(auth.sign(secret, "flash", text)[:32], sig):
        return None, None
    return (msg, None) if msg else (None, err)
