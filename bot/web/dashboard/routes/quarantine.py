"""The quarantine page for admins (issue 14): messages that could not be handled wait here
with a short, classified reason and never their content; an admin sends one through again
or takes it over by hand."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from bot.service import quarantine
from bot.web.dashboard import audit
from bot.web.dashboard.deps import AdminFormUser, AdminUser, Dashboard, RowId, wall_now


def build(ctx: Dashboard) -> APIRouter:
    router = APIRouter()
    back = "/staff/quarantine"

    @router.get("/quarantine", response_class=HTMLResponse)
    async def waiting_room(request: Request, user: AdminUser) -> HTMLResponse:
        def read() -> list[quarantine.Waiting]:
            with ctx.engine.connect() as conn:
                return quarantine.waiting(conn)

        rows = await run_in_threadpool(read)
        return ctx.page(request, "quarantine.html", user, rows=rows)

    @router.post("/quarantine/{inbound_id}/retry")
    async def retry(request: Request, inbound_id: RowId, user: AdminFormUser) -> RedirectResponse:
        def work() -> bool:
            with ctx.engine.begin() as conn:
                done = quarantine.retry(conn, inbound_id)
                if done:
                    audit.record(
                        conn,
                        actor=user.email,
                        user_id=user.id,
                        action="quarantine_retry",
                        detail={"inbound_id": inbound_id},
                        now=wall_now(),
                    )
                return done

        if not await run_in_threadpool(work):
            return ctx.flash_redirect(back, "That message is no longer waiting.", error=True)
        runtime = getattr(request.app.state, "runtime", None)
        if runtime is not None:
            runtime.wake_inbound()  # handled now, not at the next poll
        return ctx.flash_redirect(back, f"Message {inbound_id} is being handled again.")

    @router.post("/quarantine/{inbound_id}/by-hand")
    async def by_hand(inbound_id: RowId, user: AdminFormUser) -> RedirectResponse:
        def work() -> bool:
            with ctx.engine.begin() as conn:
                done = quarantine.handle_by_hand(conn, inbound_id, user.email)
                if done:
                    audit.record(
                        conn,
                        actor=user.email,
                        user_id=user.id,
                        action="quarantine_by_hand",
                        detail={"inbound_id": inbound_id},
                        now=wall_now(),
                    )
                return done

        if not await run_in_threadpool(work):
            return ctx.flash_redirect(back, "That message is no longer waiting.", error=True)
        return ctx.flash_redirect(back, f"Message {inbound_id} is marked as handled by hand.")

    return router
