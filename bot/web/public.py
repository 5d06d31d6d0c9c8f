"""The public "How we are doing" page (MONITOR): the figures a landlord promises to publish,
in plain words, with accessible charts and tables; no personal data, only counts; the same
numbers as the staff performance page. Off unless `performance.public_page` is set.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from bot.bootstrap import App
from bot.service.performance import LONDON, Filters, compute
from bot.web.performance_view import as_json, view
from sla.figures import month_start

HERE = Path(__file__).parent


def _months_back(today: date, months: int) -> date:
    first = month_start(today)
    year, month = first.year, first.month - (months - 1)
    while month < 1:
        month += 12
        year -= 1
    return date(year, month, 1)


def build_router(app: App) -> APIRouter:
    router = APIRouter()
    settings = app.settings.performance
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    if not settings.public_page:
        return router

    def compute_public() -> tuple[dict[str, object], dict[str, object]]:
        now = app.now()
        today = now.astimezone(LONDON).date()
        start = datetime.combine(_months_back(today, settings.public_months), time(), LONDON)
        end = datetime.combine(month_start(today), time(), LONDON)  # whole months only
        if end <= start:
            end = now
        with app.engine.connect() as conn:
            perf = compute(
                conn,
                start.astimezone(UTC),
                end.astimezone(UTC),
                now,
                homes=settings.homes,
                bucket="month",
                breaches_limit=0,
            )
        return view(perf, label={}), as_json(perf, Filters())

    @router.get("/performance", response_class=HTMLResponse, include_in_schema=False)
    async def public_page(request: Request) -> Response:
        shown, _ = await run_in_threadpool(compute_public)
        return templates.TemplateResponse(
            request,
            "public_performance.html",
            {**shown, "org": app.settings.organisation},
        )

    @router.get("/performance.json", include_in_schema=False)
    async def public_json() -> Response:
        _, data = await run_in_threadpool(compute_public)
        data.pop("volume_by_channel_and_hour", None)
        return JSONResponse(data)

    return router
