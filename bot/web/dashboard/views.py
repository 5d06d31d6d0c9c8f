"""The staff dashboard's routes under /staff: thin handlers that check who is asking, read or
call one staff action in one transaction, and redirect (POST, redirect, GET).

Every POST carries a CSRF token; every page needs a session except the sign-in page. The
routes live in `routes/` by part of the dashboard; what they share (the signed-in user, the
CSRF check, pages, one action in one transaction) is in `deps.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends

from actions.officers import sync_officers
from bot.web.dashboard.deps import Dashboard
from bot.web.dashboard.routes import (
    account,
    admin,
    health,
    interaction,
    language,
    live,
    performance,
    quarantine,
    queue,
    signin,
)

if TYPE_CHECKING:
    from bot.bootstrap import App


def build_router(app: App) -> APIRouter:
    ctx = Dashboard(app)
    with app.engine.begin() as conn:
        sync_officers(conn, app.settings.officers)  # OOO: config officers, leave edited here
    router = APIRouter(prefix="/staff", dependencies=[Depends(ctx.bind)])
    parts = (signin, account, queue, interaction, language, admin, quarantine, performance)
    for part in (*parts, live, health):
        router.include_router(part.build(ctx))
    return router
