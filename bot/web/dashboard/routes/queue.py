"""The queue (team queues with SLA clocks) and the live-update stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from bot.web.dashboard import queries
from bot.web.dashboard.deps import (
    CurrentUser,
    Dashboard,
)


def build(ctx: Dashboard) -> APIRouter:
    router = APIRouter()
    settings = ctx.settings

    # ---- the queue -----------------------------------------------------------------------

    @router.get("/", response_class=HTMLResponse)
    async def queue(
        request: Request,
        user: CurrentUser,
        view: str | None = None,
        team: str | None = None,
        after: str | None = None,
        fragment: str | None = None,
    ) -> HTMLResponse:
        scope = queries.scope_for(user, view, team or None)
        now = ctx.app.now()
        promises = queries.promises_of(ctx.app)

        def read() -> queries.QueuePage:
            with ctx.engine.connect() as conn:
                return queries.queue_page(
                    conn,
                    scope,
                    now=now,
                    limit=settings.dashboard.page_size,
                    after=queries.parse_cursor(after),
                    promises=promises,
                )

        result = await run_in_threadpool(read)
        names = result.names
        name = "_queue_live.html" if fragment == "live" else "queue.html"
        return ctx.page(
            request,
            name,
            user,
            result=result,
            names=names,
            scope=scope,
            views=queries.VIEWS.get(user.role, ("mine",)),
            teams=settings.teams,
            team_label=promises.teams.get(scope.team or "", scope.team),
            after=after,
            now=now,
            live=True,
        )

    # ---- live updates (server-sent events) -----------------------------------------------

    @router.get("/live")
    async def live(
        request: Request, user: CurrentUser, after: int | None = None, max_events: int = 1000
    ) -> StreamingResponse:
        """A small `change` event whenever an interaction changes (the events table, read by
        id). The stream ends after `max_events`; EventSource reconnects with Last-Event-ID."""
        last_header = request.headers.get("last-event-id", "")
        if after is None and last_header.isdigit():
            after = int(last_header)

        def latest() -> int:
            with ctx.engine.connect() as conn:
                return queries.latest_event_id(conn)

        def newer(since: int) -> list[queries.LiveEvent]:
            with ctx.engine.connect() as conn:
                return queries.events_after(conn, since, user)

        start = after if after is not None else await run_in_threadpool(latest)
        poll = settings.dashboard.live_poll_seconds

        async def stream() -> AsyncIterator[str]:
            last, sent, idle = start, 0, 0.0
            yield f"retry: 2000\nid: {last}\nevent: hello\ndata: {{}}\n\n"
            while sent < max_events:
                if await request.is_disconnected():
                    return
                found = await run_in_threadpool(newer, last)
                for event in found:
                    last = event.id
                    if not event.visible:  # need-to-know: other teams' cases stay silent
                        continue
                    data = json.dumps({"interaction": event.interaction_id, "kind": event.kind})
                    yield f"id: {event.id}\nevent: change\ndata: {data}\n\n"
                    sent += 1
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
