"""One interaction: the page, and every staff action on it (reply, pause, resume, close,
reopen, take, transfer, and the complaint workflow, COMPLAINT), each one transaction."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from actions import complaints, handoff, replies
from actions.officers import effective_officers
from actions.replies import ActionError
from actions.wording import deadline_in_words
from bot.storage.repository import UnitOfWork
from bot.web.dashboard import audit, auth, queries
from bot.web.dashboard.deps import (
    CurrentUser,
    Dashboard,
    FormUser,
    RowId,
    actor,
    wall_now,
)
from bot.web.dashboard.routes import language
from bot.web.dashboard.routes.signin import client_of


def build(ctx: Dashboard) -> APIRouter:
    router = APIRouter()
    settings = ctx.settings
    app = ctx.app

    # ---- one interaction -----------------------------------------------------------------

    @router.get("/interactions/{interaction_id}", response_class=HTMLResponse)
    async def interaction(
        request: Request, user: CurrentUser, interaction_id: RowId, fragment: str | None = None
    ) -> HTMLResponse:
        now = ctx.app.now()

        def read() -> dict[str, Any]:
            with ctx.engine.begin() as conn:
                row = queries.interaction_row(conn, interaction_id)
                if row is None:
                    raise HTTPException(status_code=404, detail="No such interaction.")
                allowed = queries.can_see(user, row)
                # Both are recorded: a look at a case, and a try at one outside your queues.
                audit.record(
                    conn,
                    actor=user.email,
                    user_id=user.id,
                    action="viewed" if allowed else "view_refused",
                    interaction_id=interaction_id,
                    now=wall_now(),
                    client=client_of(request),
                )
            if not allowed:
                raise HTTPException(status_code=403, detail="Not in your queues.")
            promises = queries.promises_of(ctx.app)

            def clock_view(s: Any) -> dict[str, Any]:
                # As the queue shows it: due soon proportional, working days left.
                state, left = queries.case_clock(
                    promises,
                    policy=s.clock.policy,
                    due_at=s.clock.due_at,
                    warn_at=s.clock.warn_at,
                    paused_at=s.clock.paused_at,
                    stopped_at=s.clock.stopped_at,
                    now=now,
                )
                return {
                    "policy": s.clock.policy,
                    "due_at": s.clock.due_at,
                    "deadline": deadline_in_words(s.clock.due_at, now=now),
                    "state": state,
                    "left": left,
                    "outcome": s.clock.outcome,
                    "outcome_reason": s.clock.outcome_reason,
                    "extended_days": s.clock.extended_days,
                    "extension_reason": s.clock.extension_reason,
                    "stopped_at": s.clock.stopped_at,
                }

            with ctx.engine.connect() as conn:
                clocks = [clock_view(s) for s in ctx.app.clocks.clocks_for(conn, interaction_id)]
                case = replies.load_case(conn, interaction_id)
                return {
                    "row": row,
                    "clocks": clocks,
                    "policies": promises.policies,
                    "timeline": queries.timeline(conn, interaction_id),
                    "history": queries.history(conn, row.contact_id, user),
                    "identities": queries.identities(conn, row.contact_id),
                    **language.page_values(conn, row.contact_id),
                    "stage": complaints.current_stage(case),
                    "handlers": complaints.stage_handlers(conn, interaction_id),
                    "staff": [u for u in auth.list_users(conn) if u.active],
                    "officers": effective_officers(conn),
                    "names": queries.staff_names(conn),
                    "allowed_extension": {
                        s: complaints.allowed_extension_days(app, s) for s in (1, 2)
                    },
                }

        data = await run_in_threadpool(read)
        name = "_interaction_live.html" if fragment == "live" else "interaction.html"
        return ctx.page(
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
        interaction_id: RowId,
        user: FormUser,
        text: Annotated[str, Form()] = "",
        nonce: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        now = ctx.app.now()

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

        return await ctx.act(user, interaction_id, do, audit_as="replied")

    @router.post("/interactions/{interaction_id}/pause")
    async def pause(request: Request, interaction_id: RowId, user: FormUser) -> RedirectResponse:
        now = ctx.app.now()

        def do(uow: UnitOfWork) -> str:
            n = replies.pause_clocks(uow, app, interaction_id, actor=actor(user), now=now)
            return f"Paused {n} clock{'s' if n != 1 else ''} while waiting on the resident."

        return await ctx.act(user, interaction_id, do, audit_as="paused")

    @router.post("/interactions/{interaction_id}/resume")
    async def resume(request: Request, interaction_id: RowId, user: FormUser) -> RedirectResponse:
        now = ctx.app.now()

        def do(uow: UnitOfWork) -> str:
            n = replies.resume_clocks(uow, app, interaction_id, actor=actor(user), now=now)
            return f"Resumed {n} clock{'s' if n != 1 else ''}."

        return await ctx.act(user, interaction_id, do, audit_as="resumed")

    @router.post("/interactions/{interaction_id}/close")
    async def close(
        request: Request,
        interaction_id: RowId,
        user: FormUser,
        outcome: Annotated[str, Form()] = "",
        note: Annotated[str, Form()] = "",
        tell: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        now = ctx.app.now()
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

        return await ctx.act(user, interaction_id, do, audit_as="closed")

    @router.post("/interactions/{interaction_id}/reopen")
    async def reopen(request: Request, interaction_id: RowId, user: FormUser) -> RedirectResponse:
        now = ctx.app.now()

        def do(uow: UnitOfWork) -> str:
            replies.reopen_case(uow, interaction_id, actor=actor(user), now=now)
            return "Reopened."

        return await ctx.act(user, interaction_id, do, audit_as="reopened")

    @router.post("/interactions/{interaction_id}/take")
    async def take(request: Request, interaction_id: RowId, user: FormUser) -> RedirectResponse:
        now = ctx.app.now()

        def do(uow: UnitOfWork) -> str:
            handoff.take(uow, app, interaction_id, actor=actor(user), now=now)
            return "It is yours now."

        return await ctx.act(user, interaction_id, do, audit_as="taken")

    @router.post("/interactions/{interaction_id}/transfer")
    async def transfer(
        request: Request,
        interaction_id: RowId,
        user: FormUser,
        team: Annotated[str, Form()] = "",
        owner: Annotated[str, Form()] = "",
        note: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        now = ctx.app.now()

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

        return await ctx.act(user, interaction_id, do, audit_as="transferred")

    # ---- complaints (COMPLAINT) ----------------------------------------------------------

    @router.post("/interactions/{interaction_id}/complaint/mark")
    async def complaint_mark(
        request: Request, interaction_id: RowId, user: FormUser
    ) -> RedirectResponse:
        now = ctx.app.now()

        def do(uow: UnitOfWork) -> str:
            complaints.mark_as_complaint(uow, app, interaction_id, actor=actor(user), now=now)
            return "Marked as a stage 1 complaint. The procedure has been sent to the resident."

        return await ctx.act(user, interaction_id, do, audit_as="complaint_marked")

    @router.post("/interactions/{interaction_id}/complaint/acknowledge")
    async def complaint_ack(
        request: Request,
        interaction_id: RowId,
        user: FormUser,
        handler: Annotated[str, Form()] = "",
        summary: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        now = ctx.app.now()

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

        return await ctx.act(
            user,
            interaction_id,
            do,
            audit_as="complaint_acknowledged",
            roles=complaints.HANDLER_ROLES,
        )

    @router.post("/interactions/{interaction_id}/complaint/extend")
    async def complaint_extend(
        request: Request,
        interaction_id: RowId,
        user: FormUser,
        days: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        now = ctx.app.now()

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

        return await ctx.act(
            user, interaction_id, do, audit_as="complaint_extended", roles=complaints.HANDLER_ROLES
        )

    @router.post("/interactions/{interaction_id}/complaint/escalate")
    async def complaint_escalate(
        request: Request,
        interaction_id: RowId,
        user: FormUser,
        handler: Annotated[str, Form()] = "",
        reason: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        now = ctx.app.now()

        def do(uow: UnitOfWork) -> str:
            due = complaints.escalate(
                uow, app, interaction_id, handler=handler, reason=reason, actor=actor(user), now=now
            )
            return (
                f"Escalated to stage 2. It must be acknowledged {deadline_in_words(due, now=now)}."
            )

        return await ctx.act(
            user, interaction_id, do, audit_as="complaint_escalated", roles=complaints.HANDLER_ROLES
        )

    @router.post("/interactions/{interaction_id}/complaint/respond")
    async def complaint_respond(
        request: Request,
        interaction_id: RowId,
        user: FormUser,
        text: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        now = ctx.app.now()

        def do(uow: UnitOfWork) -> str:
            complaints.respond(uow, app, interaction_id, body=text, actor=actor(user), now=now)
            return "Answer sent."

        return await ctx.act(
            user, interaction_id, do, audit_as="complaint_answered", roles=complaints.HANDLER_ROLES
        )

    return router
