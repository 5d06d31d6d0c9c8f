"""Admin pages: officers' out-of-office (OOO) and staff accounts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from actions.officers import OfficerError, effective_officers, set_leave
from actions.wording import LONDON
from bot.storage.repository import UnitOfWork
from bot.storage.tables_staff import ROLES
from bot.web.dashboard import auth
from bot.web.dashboard.auth import StaffUser
from bot.web.dashboard.deps import (
    AdminFormUser,
    AdminUser,
    Dashboard,
    redirect,
    wall_now,
)


def build(ctx: Dashboard) -> APIRouter:
    router = APIRouter()
    settings = ctx.settings

    # ---- officers' out-of-office (OOO), admin only ---------------------------------------

    @router.get("/officers", response_class=HTMLResponse)
    async def officers(request: Request, user: AdminUser) -> HTMLResponse:

        def read() -> list[Any]:
            with ctx.engine.connect() as conn:
                return effective_officers(conn)

        found = await run_in_threadpool(read)
        return ctx.page(
            request,
            "officers.html",
            user,
            officers=found,
            teams=settings.teams,
            today=ctx.app.now().astimezone(LONDON).date(),
        )

    @router.post("/officers/leave")
    async def officer_leave(
        request: Request,
        user: AdminFormUser,
        email: Annotated[str, Form()],
        until: Annotated[str, Form()] = "",
        cover: Annotated[str, Form()] = "",
        clear: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        today = ctx.app.now().astimezone(LONDON).date()

        def work() -> str:
            try:
                back = None if clear or not until else date.fromisoformat(until)
            except ValueError:
                raise OfficerError("Give the return date as a date.") from None
            with UnitOfWork(ctx.engine, ctx.app.now) as uow:
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
            return redirect(f"/staff/officers?{ctx.flash_query(str(exc), error=True)}")
        return redirect(f"/staff/officers?{ctx.flash_query(message)}")

    # ---- users, admin only ---------------------------------------------------------------

    @router.get("/users", response_class=HTMLResponse)
    async def users(request: Request, user: AdminUser) -> HTMLResponse:

        def read() -> list[StaffUser]:
            with ctx.engine.connect() as conn:
                return auth.list_users(conn)

        found = await run_in_threadpool(read)
        return ctx.page(request, "users.html", user, users=found, roles=ROLES, teams=settings.teams)

    @router.post("/users")
    async def add_user(
        request: Request,
        user: AdminFormUser,
        email: Annotated[str, Form()] = "",
        name: Annotated[str, Form()] = "",
        role: Annotated[str, Form()] = "",
        team: Annotated[str, Form()] = "",
        password: Annotated[str, Form()] = "",
    ) -> RedirectResponse:

        def work() -> str:
            with ctx.engine.begin() as conn:
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
            return redirect(f"/staff/users?{ctx.flash_query(str(exc), error=True)}")
        return redirect(f"/staff/users?{ctx.flash_query(message)}")

    @router.post("/users/{user_id}/active")
    async def user_active(
        request: Request,
        user_id: int,
        user: AdminFormUser,
        active: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        if user_id == user.id and not active:
            return redirect(
                f"/staff/users?{ctx.flash_query('You cannot switch yourself off.', error=True)}"
            )

        def work() -> None:
            with ctx.engine.begin() as conn:
                auth.set_active(conn, user_id, bool(active))

        await run_in_threadpool(work)
        return redirect(f"/staff/users?{ctx.flash_query('Saved.')}")

    return router
