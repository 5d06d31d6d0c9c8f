"""Channel health and staff alerts (MONITOR): what the mystery shopper found on each channel
(last probe, time to answer, passed or why not), and every alert and digest sent to staff
with whether it really went. Every signed-in member of staff may read it: it names case
references and teams, not residents."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from bot.probe.health import channel_health, recent_probes
from bot.service import alerts
from bot.web.dashboard.deps import CurrentUser, Dashboard


def build(ctx: Dashboard) -> APIRouter:
    router = APIRouter()

    def policy_name(name: str) -> str:
        policy = ctx.app.clocks.policies.get(name)
        return policy.summary if policy is not None and policy.summary else name

    @router.get("/health", response_class=HTMLResponse)
    async def health(request: Request, user: CurrentUser) -> HTMLResponse:
        def read() -> dict[str, Any]:
            now = ctx.app.now()
            with ctx.engine.connect() as conn:
                return {
                    "channels": channel_health(conn, ctx.settings, now),
                    "probes": recent_probes(conn),
                    "notices": alerts.recent_notices(conn, label=policy_name),
                    "attention": alerts.summary(conn, ctx.app.clocks, ctx.settings, now),
                    "fraction": round(ctx.settings.sla.due_soon_fraction * 100),
                    "team_names": {x.id: x.name for x in ctx.settings.teams},
                }

        return ctx.page(request, "health.html", user, **await run_in_threadpool(read))

    return router


def banner(ctx: Any) -> dict[str, list[str]]:
    """The warnings every staff page shows: a channel silent, failing or slow, and staff
    notifications of the last day that did not go."""
    now = ctx.app.now()
    with ctx.engine.connect() as conn:
        channels = [
            f"{h.name}: {h.warning}" for h in channel_health(conn, ctx.settings, now) if h.warning
        ]
        failed = Counter(
            (n.team, n.error or n.status)
            for n in alerts.failed_notices(conn, now - timedelta(days=1))
        )
    names = {x.id: x.name for x in ctx.settings.teams}
    lines = [
        f"{n} {'alert' if n == 1 else 'alerts'} to the {names.get(team, team)}: {why}"
        for (team, why), n in sorted(failed.items())
    ]
    return {"probe_warnings": channels, "notice_failures": lines}
