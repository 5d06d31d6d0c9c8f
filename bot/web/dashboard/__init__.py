"""The staff dashboard (issue 6): sign-in, team queues with SLA clocks, one resident's
history across channels, replies on the resident's channel (SAME-CHANNEL), hand-offs
(HANDOFF), the complaint workflow (COMPLAINT), officers' out-of-office (OOO) and live
updates. `bot.web.app` includes the router this builds."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import APIRouter

    from bot.bootstrap import App


def build_router(app: App) -> APIRouter:
    # Imported here so `doorstep user` (which only needs .auth) stays light.
    from bot.web.dashboard.views import build_router as build

    return build(app)


__all__ = ["build_router"]
