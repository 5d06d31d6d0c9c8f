"""Admin pages: officers' out-of-office (OOO) and staff accounts."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from actions.officers import OfficerError, effective_officers, set_leave
from actions.wording import LONDON
from bot.storage.repository import UnitOfWork
from bot.storage.tables_staff import ROLES
from bot.web.dashboard import audit, auth, queries
from bot.web.dashboard.auth import StaffUser
from bot.web.dashboard.deps import (
    AdminFormUser,
    AdminUser,
    Dashboard,
    RowId,
    wall_now,
)
from bot.web.dashboard.routes.signin import client_of

PAGE = 100


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
                audit.record(
                    uow.conn,
                    actor=user.email,
                    user_id=user.id,
                    action="officer_leave",
                    now=wall_now(),
                    detail={"officer": officer.email, "until": until or None},
                    client=client_of(request),
                )
                uow.commit()
            if officer.on_leave_until is None:
                return f"{officer.name} is at work."
            return f"{officer.name} is away until {officer.on_leave_until:%d %B %Y}."

        try:
            message = await run_in_threadpool(work)
        except OfficerError as exc:
            return ctx.flash_redirect("/staff/officers", str(exc), error=True)
        return ctx.flash_redirect("/staff/officers", message)

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
                audit.record(
                    conn,
                    actor=user.email,
                    user_id=user.id,
                    action="user_added",
                    now=wall_now(),
                    detail={"user": made.id, "role": made.role},
                    client=client_of(request),
                )
            return f"Added {made.name} ({auth.ROLE_NAMES[made.role]})."

        try:
            message = await run_in_threadpool(work)
        except auth.UserError as exc:
            return ctx.flash_redirect("/staff/users", str(exc), error=True)
        return ctx.flash_redirect("/staff/users", message)

    @router.post("/users/{user_id}/active")
    async def user_active(
        request: Request,
        user_id: RowId,
        user: AdminFormUser,
        active: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        if user_id == user.id and not active:
            return ctx.flash_redirect("/staff/users", "You cannot switch yourself off.", error=True)

        def work() -> None:
            with ctx.engine.begin() as conn:
                auth.set_active(conn, user_id, bool(active))
                audit.record(
                    conn,
                    actor=user.email,
                    user_id=user.id,
                    action="user_switched",
                    now=wall_now(),
                    detail={"user": user_id, "active": bool(active)},
                    client=client_of(request),
                )

        await run_in_threadpool(work)
        return ctx.flash_redirect("/staff/users", "Saved.")

    @router.post("/users/{user_id}/reset", response_model=None)
    async def user_reset(request: Request, user_id: RowId, user: AdminFormUser) -> Response:
        """A temporary password, shown once on this page (never in a URL or a log); it only
        lets its owner choose a new one. Their sessions end and two-step sign-in is cleared,
        as a reset is what someone who lost their phone asks for."""
        if user_id == user.id:
            return ctx.flash_redirect(
                "/staff/users", "Change your own password under Your account.", error=True
            )

        def work() -> tuple[str, list[StaffUser]]:
            now = wall_now()
            with ctx.engine.begin() as conn:
                temporary = auth.reset_password(conn, user_id, now=now)
                audit.record(
                    conn,
                    actor=user.email,
                    user_id=user.id,
                    action="password_reset",
                    now=now,
                    detail={"user": user_id},
                    client=client_of(request),
                )
                return temporary, auth.list_users(conn)

        try:
            temporary, found = await run_in_threadpool(work)
        except auth.UserError as exc:
            return ctx.flash_redirect("/staff/users", str(exc), error=True)
        target = next((u for u in found if u.id == user_id), None)
        return ctx.page(
            request,
            "users.html",
            user,
            users=found,
            roles=ROLES,
            teams=settings.teams,
            reset_for=target,
            temporary=temporary,
        )

    # ---- the audit log, admin only -------------------------------------------------------

    @router.get("/audit", response_class=HTMLResponse)
    async def audit_log(
        request: Request,
        user: AdminUser,
        actor: str = "",
        reference: str = "",
        before: int | None = None,
    ) -> HTMLResponse:
        def read() -> tuple[list[audit.AuditEntry], dict[int, str], str | None]:
            now = wall_now()
            problem = None
            with ctx.engine.begin() as conn:
                interaction_id = None
                if reference.strip():
                    interaction_id = queries.interaction_id_for(conn, reference)
                    if interaction_id is None:
                        problem = f"No case has the reference {reference.strip()[:40]}."
                found = (
                    []
                    if problem
                    else audit.entries(
                        conn,
                        actor=actor or None,
                        interaction_id=interaction_id,
                        before=before,
                        limit=PAGE,
                    )
                )
                refs = queries.references_for(
                    conn, {e.interaction_id for e in found if e.interaction_id is not None}
                )
                # Reading the audit log is itself recorded (who looked at who looked).
                audit.record(
                    conn,
                    actor=user.email,
                    user_id=user.id,
                    action="audit_viewed",
                    now=now,
                    detail={"actor": actor or None, "reference": reference or None},
                    client=client_of(request),
                )
            return found, refs, problem

        found, refs, problem = await run_in_threadpool(read)
        return ctx.page(
            request,
            "audit.html",
            user,
            entries=found,
            refs=refs,
            actor=actor,
            reference=reference,
            error=problem,
            older=found[-1].id if len(found) == PAGE else None,
        )

    return router
