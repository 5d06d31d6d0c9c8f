"""Live chat in the dashboard (HANDOFF; docs/live-chat.md): the Available / Away toggle and
its heartbeat, the live queue, and one live conversation.

The conversation view follows the dashboard's live pattern: a server-sent event stream
(no inline script, CSP `connect-src 'self'`) and a small script that adds what arrives. The
stream waits on the web chat's hub for the resident's session, the same notice board that
wakes the resident's socket, so a line from either side shows at once on this instance, and
within the hub's relay (PostgreSQL NOTIFY) or `webchat.poll_seconds` on another. The
officer's messages go to the resident through the outbox like any staff reply.

Need-to-know: a chat is listed, opened and streamed only for staff who may open its case
(`queries.can_see`), and every look and action is in the audit log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from actions.replies import ActionError
from bot.service import live
from bot.storage import live as store
from bot.storage.repository import UnitOfWork
from bot.web.dashboard import audit, queries
from bot.web.dashboard.auth import StaffUser
from bot.web.dashboard.deps import (
    CurrentUser,
    Dashboard,
    FormUser,
    RowAfter,
    RowId,
    actor,
    redirect,
    wall_now,
)
from bot.web.dashboard.routes.signin import client_of

HERE = Path(__file__).resolve().parent.parent
SCRIPT_PATH = "/live-chat.js"


def waited(since: datetime, now: datetime) -> str:
    """How long a chat has waited, for the queue ("under a minute", "4 min")."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return "under a minute"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"


def build(ctx: Dashboard) -> APIRouter:
    router = APIRouter()
    app = ctx.app
    settings = ctx.settings.live_chat

    def windows() -> tuple[timedelta, timedelta]:
        return live.presence_windows(settings)

    # ---- the script ------------------------------------------------------------------------

    @router.get(SCRIPT_PATH, include_in_schema=False)
    def script(user: CurrentUser) -> Response:
        # Only signed-in pages load it: like every staff route, it needs a session.
        return Response(
            (HERE / "static" / "live-chat.js").read_bytes(),
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "max-age=300"},
        )

    # ---- presence --------------------------------------------------------------------------

    @router.post("/presence")
    async def set_presence(
        request: Request,
        user: FormUser,
        status: Annotated[str, Form()] = "",
        next: Annotated[str, Form()] = "/staff/chats",
    ) -> Response:
        if status not in ("available", "away"):
            raise HTTPException(status_code=400, detail="Choose Available or Away.")
        now = app.now()

        def work() -> str:
            with ctx.engine.begin() as conn:
                store.set_status(conn, user.id, status, now)
                audit.record(
                    conn,
                    actor=user.email,
                    user_id=user.id,
                    action=f"presence_{status}",
                    now=wall_now(),
                    client=client_of(request),
                )
                ttl, idle = windows()
                return store.status_of(conn, user.id, now, ttl, idle)

        found = await run_in_threadpool(work)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(presence_json(found))
        target = next if next.startswith("/staff") and not next.startswith("//") else "/staff/"
        message = (
            "Available: live chats for your team can come to you."
            if found == "available"
            else "Away: no live chats will come to you."
        )
        return ctx.flash_redirect(target, message)

    def presence_json(status: str) -> dict[str, Any]:
        return {
            "status": status,
            "every": settings.heartbeat_seconds,
            "idleSeconds": int(settings.idle_minutes * 60),
        }

    @router.post("/presence/heartbeat")
    async def heartbeat(user: FormUser, idle: Annotated[float, Form()] = 0.0) -> JSONResponse:
        """The dashboard is open; `idle` is how long since its user last did something."""
        now = app.now()
        # Whatever the client sends ("nan", "-5", "1e300"), a number of seconds in a day.
        idle = min(max(idle, 0.0), 86_400.0) if math.isfinite(idle) else 0.0

        def work() -> tuple[str, int]:
            with ctx.engine.begin() as conn:
                store.heartbeat(conn, user.id, now, now - timedelta(seconds=idle))
                ttl, window = windows()
                status = store.status_of(conn, user.id, now, ttl, window)
                # How many chats wait that this person may take (the menu shows it).
                waiting = sum(queries.can_see(user, c) for c in store.in_states(conn, ("waiting",)))
                return status, waiting

        status, waiting = await run_in_threadpool(work)
        return JSONResponse({**presence_json(status), "waiting": waiting})

    # ---- the live queue ----------------------------------------------------------------------

    def queue_data(user: StaffUser) -> dict[str, Any]:
        now = app.now()
        ttl, idle = windows()
        with ctx.engine.connect() as conn:
            chats = [
                c for c in store.in_states(conn, store.ACTIVE_STATES) if queries.can_see(user, c)
            ]
            rows: list[dict[str, Any]] = [
                {
                    "chat": c,
                    "waited": waited(c.requested_at, now),
                    "first_words": store.first_words(conn, c.session_id),
                    "team_name": team_name(c.team),
                }
                for c in chats
            ]
            teams = sorted({c.team for c in chats} | ({user.team} if user.team else set()))
            available = {
                team_name(team): [s.name for s in store.available_staff(conn, team, now, ttl, idle)]
                for team in teams
            }
            status = store.status_of(conn, user.id, now, ttl, idle)
        return {
            "waiting": [r for r in rows if r["chat"].state == "waiting"],
            "mine": [
                r for r in rows if r["chat"].state == "taken" and r["chat"].taken_by == user.email
            ],
            "others": [
                r for r in rows if r["chat"].state == "taken" and r["chat"].taken_by != user.email
            ],
            "available": available,
            "presence": status,
            "office_open": bool(app.clocks.calendar.is_open(now)),
            "timeout": live._minutes(settings.queue_timeout_seconds),
        }

    def team_name(team: str) -> str:
        try:
            return str(ctx.settings.team(team).name)
        except KeyError:
            return team

    @router.get("/chats", response_class=HTMLResponse)
    async def chats(request: Request, user: CurrentUser, fragment: str | None = None) -> Response:
        data = await run_in_threadpool(queue_data, user)
        name = "_live_queue.html" if fragment == "live" else "live_queue.html"
        return ctx.page(request, name, user, **data, live=True)

    # ---- one chat ------------------------------------------------------------------------------

    def visible_chat(conn: Any, user: StaffUser, chat_id: int) -> store.LiveChat:
        chat = store.get(conn, chat_id)
        if chat is None:
            raise HTTPException(status_code=404, detail="No such chat.")
        if not queries.can_see(user, chat):
            raise HTTPException(status_code=403, detail="Not in your queues.")
        return chat

    async def act(
        request: Request,
        user: StaffUser,
        chat_id: RowId,
        step: Callable[[UnitOfWork, store.LiveChat], str],
        audit_as: str,
    ) -> tuple[str | None, str | None]:
        """One step in one transaction, with its audit record. Returns (message, error)."""

        def work() -> str:
            with UnitOfWork(ctx.engine, app.now) as uow:
                chat = visible_chat(uow.conn, user, chat_id)
                message = step(uow, chat)
                audit.record(
                    uow.conn,
                    actor=user.email,
                    user_id=user.id,
                    action=audit_as,
                    interaction_id=chat.interaction_id,
                    now=wall_now(),
                    client=client_of(request),
                )
                uow.commit()
                return message

        try:
            message = await run_in_threadpool(work)
        except ActionError as exc:
            return None, str(exc)
        app.outbox.wake()  # on the event loop's thread: the line leaves at once
        return message, None

    def answer(request: Request, chat_id: int, message: str | None, error: str | None) -> Response:
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(
                {"ok": error is None, "message": error or message or ""},
                status_code=200 if error is None else 409,
            )
        back = f"/staff/chats/{chat_id}"
        if error is not None:
            return ctx.flash_redirect(back, error, error=True)
        return ctx.flash_redirect(back, message or "") if message else redirect(back)

    @router.post("/chats/{chat_id}/take")
    async def take(request: Request, chat_id: RowId, user: FormUser) -> Response:
        now = app.now()

        def step(uow: UnitOfWork, chat: store.LiveChat) -> str:
            live.take(uow, app, chat.id, actor=actor(user), now=now)
            return "The chat is yours. The resident has been told you have joined."

        message, error = await act(request, user, chat_id, step, "live_chat_taken")
        if error is not None:
            return ctx.flash_redirect("/staff/chats", error, error=True)
        return answer(request, chat_id, message, None)

    @router.post("/chats/{chat_id}/say")
    async def say(
        request: Request,
        chat_id: RowId,
        user: FormUser,
        text: Annotated[str, Form()] = "",
        nonce: Annotated[str, Form()] = "",
    ) -> Response:
        now = app.now()
        nonce = nonce.strip()[:64] or uuid.uuid4().hex

        def step(uow: UnitOfWork, chat: store.LiveChat) -> str:
            live.say(uow, app, chat.id, text, actor=actor(user), nonce=nonce, now=now)
            return ""

        message, error = await act(request, user, chat_id, step, "live_chat_message")
        return answer(request, chat_id, message, error)

    @router.post("/chats/{chat_id}/end")
    async def end(request: Request, chat_id: RowId, user: FormUser) -> Response:
        now = app.now()

        def step(uow: UnitOfWork, chat: store.LiveChat) -> str:
            live.end(uow, app, chat.id, actor=actor(user), now=now)
            return "Chat ended. The case stays in your queue."

        message, error = await act(request, user, chat_id, step, "live_chat_ended")
        if error is None and "application/json" not in request.headers.get("accept", ""):
            return ctx.flash_redirect(
                f"/staff/interactions/{chat_interaction(chat_id)}", message or ""
            )
        return answer(request, chat_id, message, error)

    def chat_interaction(chat_id: int) -> int:
        with ctx.engine.connect() as conn:
            chat = store.get(conn, chat_id)
        return chat.interaction_id if chat is not None else 0

    @router.get("/chats/{chat_id}", response_class=HTMLResponse)
    async def chat_page(request: Request, chat_id: RowId, user: CurrentUser) -> Response:
        def read() -> dict[str, Any]:
            with ctx.engine.begin() as conn:
                chat = store.get(conn, chat_id)
                if chat is None:
                    raise HTTPException(status_code=404, detail="No such chat.")
                allowed = queries.can_see(user, chat)
                audit.record(
                    conn,
                    actor=user.email,
                    user_id=user.id,
                    action="viewed" if allowed else "view_refused",
                    interaction_id=chat.interaction_id,
                    now=wall_now(),
                    client=client_of(request),
                )
            if not allowed:
                raise HTTPException(status_code=403, detail="Not in your queues.")
            with ctx.engine.connect() as conn:
                lines = store.lines_after(conn, chat.session_id, 0)
            return {
                "chat": chat,
                "lines": lines,
                "last_seq": lines[-1].seq if lines else 0,
                "team_name": team_name(chat.team),
                "mine": chat.state == "taken" and chat.taken_by == user.email,
            }

        data = await run_in_threadpool(read)
        return ctx.page(
            request,
            "live_chat.html",
            user,
            **data,
            nonce=uuid.uuid4().hex,
        )

    @router.get("/chats/{chat_id}/stream")
    async def stream(
        request: Request, chat_id: RowId, user: CurrentUser, after: RowAfter = 0
    ) -> StreamingResponse:
        """Server-sent events: `line` for each new chat line (both sides), `state` when the
        chat is taken or ends. Woken by the web chat hub; polls as a fall-back."""
        last_header = request.headers.get("last-event-id", "")
        if last_header.isdigit():
            after = int(last_header)

        def first() -> store.LiveChat:
            with ctx.engine.connect() as conn:
                return visible_chat(conn, user, chat_id)

        chat = await run_in_threadpool(first)
        session_id = chat.session_id
        server = app.extras.get("webchat")
        hub = getattr(server, "hub", None)
        poll = min(ctx.settings.webchat.poll_seconds, 5.0)

        def read(since: int) -> tuple[list[store.Line], store.LiveChat | None]:
            with ctx.engine.connect() as conn:
                return store.lines_after(conn, session_id, since), store.get(conn, chat_id)

        async def events() -> AsyncIterator[str]:
            event = hub.subscribe(session_id) if hub is not None else None
            last, state, quiet = max(0, after), chat.state, 0.0
            try:
                yield f"retry: 2000\nevent: hello\ndata: {json.dumps({'state': state})}\n\n"
                while True:
                    if await request.is_disconnected():
                        return
                    lines, now_chat = await run_in_threadpool(read, last)
                    for line in lines:
                        last = line.seq
                        yield f"id: {line.seq}\nevent: line\ndata: {json.dumps(line.as_json())}\n\n"
                    if now_chat is not None and now_chat.state != state:
                        state = now_chat.state
                        data = {"state": state, "taken_by": now_chat.taken_name}
                        yield f"event: state\ndata: {json.dumps(data)}\n\n"
                    if event is not None:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(event.wait(), timeout=poll)
                        event.clear()
                    else:
                        await asyncio.sleep(poll)
                    quiet += poll
                    if quiet >= 15:  # keeps proxies from closing an idle stream
                        quiet = 0.0
                        yield ": ping\n\n"
            finally:
                if event is not None and hub is not None:
                    hub.unsubscribe(session_id, event)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router
