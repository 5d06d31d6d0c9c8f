"""The performance page (MONITOR): how the landlord is keeping its promises, for any period,
team, channel and topic, with CSV and JSON exports. Every signed-in member of staff may read
it: the figures are counts, and the breaches list links only to cases (which are opened
under the usual need-to-know rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.service.performance import LONDON, Filters, Performance, compute
from bot.web.dashboard.deps import CurrentUser, Dashboard
from bot.web.performance_view import PeriodError, as_csv, as_json, period, view

CHANNEL_NAMES = {
    "email": "Email",
    "sms": "Text message",
    "webchat": "Web chat",
    "social": "Social media",
}
TOPIC_NAMES = {
    "repair": "Repairs",
    "asb": "Anti-social behaviour",
    "complaint": "Complaints",
    "general": "General enquiries",
}


def build(ctx: Dashboard) -> APIRouter:
    router = APIRouter()
    settings = ctx.settings

    def policy_names() -> dict[str, str]:
        found: dict[str, str] = {}
        for name, policy in ctx.app.clocks.policies.items():
            found[name] = (
                policy.summary[:1].upper() + policy.summary[1:] if policy.summary else name
            )
        return found

    def read(
        first: str | None, last: str | None, bucket: str | None, filters: Filters
    ) -> tuple[Any, Performance]:
        now = ctx.app.now()
        try:
            chosen = period(now.astimezone(LONDON).date(), first, last, bucket)
        except PeriodError as exc:
            raise HTTPException(status_code=400, detail=str(exc)) from exc
        with ctx.engine.connect() as conn:
            perf = compute(
                conn,
                chosen.start,
                chosen.end,
                now,
                filters=filters,
                homes=settings.performance.homes,
                bucket=chosen.bucket,
            )
        return chosen, perf

    async def figures(
        request: Request,
        team: str | None = None,
        channel: str | None = None,
        topic: str | None = None,
        bucket: str | None = None,
    ) -> tuple[Any, Performance]:
        """The period and filters from the query string, and the figures for them (shared by
        the page and its exports, so they always agree)."""
        params = request.query_params
        filters = Filters(team=team or None, channel=channel or None, topic=topic or None)
        return await run_in_threadpool(read, params.get("from"), params.get("to"), bucket, filters)

    # A default, not an Annotated alias: the alias would be local to build(), and the
    # postponed annotations of the routes are resolved at module level.
    from_query = Depends(figures)

    @router.get("/performance", response_class=HTMLResponse)
    async def performance(
        request: Request, user: CurrentUser, found: tuple[Any, Performance] = from_query
    ) -> HTMLResponse:
        chosen, perf = found
        names = policy_names()
        teams = {t.id: t.name for t in settings.teams}
        query = urlencode(
            {
                "from": chosen.first.isoformat(),
                "to": chosen.last.isoformat(),
                "bucket": perf.bucket,
                **perf.filters.as_dict(),
            }
        )
        return ctx.page(
            request,
            "performance.html",
            user,
            period=chosen,
            query=query,
            teams=settings.teams,
            channels=list(CHANNEL_NAMES),
            topics=list(TOPIC_NAMES),
            channel_names=CHANNEL_NAMES,
            topic_names=TOPIC_NAMES,
            team_names=teams,
            policy_names=names,
            group_names={"channel": CHANNEL_NAMES, "topic": TOPIC_NAMES, "team": teams},
            **view(perf, label=names),
        )

    @router.get("/performance.csv")
    async def performance_csv(
        user: CurrentUser, found: tuple[Any, Performance] = from_query
    ) -> Response:
        chosen, perf = found
        name = f"doorstep-performance-{chosen.first.isoformat()}-{chosen.last.isoformat()}.csv"
        return Response(
            as_csv(perf),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @router.get("/performance.json")
    async def performance_json(
        user: CurrentUser, found: tuple[Any, Performance] = from_query
    ) -> Response:
        _, perf = found
        data = as_json(perf, perf.filters)
        data["generated_at"] = datetime.now(LONDON).isoformat()
        return JSONResponse(data)

    return router
