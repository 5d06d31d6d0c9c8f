"""FastAPI application factory. Routes are thin: they read or store, then return."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException

from bot.bootstrap import App
from bot.factories import build_all
from bot.runtime import Runtime
from bot.service.clocks import attention_needed, count_attention_needed
from bot.service.pipeline import count_by_status
from bot.storage import tables as t

# Areas that add routes build an APIRouter from the App: "module:function". A module that is
# not there (an area not built yet) is skipped; one that fails to import is an error.
ROUTER_FACTORIES = (
    "channels.sms.webhook:build_router",
    "channels.webchat.server:build_router",
    "bot.web.dashboard:build_router",
    "bot.web.appointments:build_router",
    "bot.web.assistant_api:build_router",
)


def _include_area_routers(api: FastAPI, app: App) -> None:
    for router in build_all(ROUTER_FACTORIES, app):
        api.include_router(router)


def create_app(
    app: App, *, run_workers: bool = True, email_senders: Sequence[Sequence[str]] = ()
) -> FastAPI:
    runtime = Runtime(app, email_senders=email_senders)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if run_workers:
            await runtime.start()
        try:
            yield
        finally:
            if run_workers:
                await runtime.stop()

    api = FastAPI(title="Doorstep", lifespan=lifespan)
    api.state.doorstep = app
    api.state.runtime = runtime

    @api.get("/healthz")
    def healthz() -> dict[str, str]:
        with app.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return {"status": "ok"}

    @api.get("/api/status")
    def status() -> dict[str, Any]:
        now = app.now()
        with app.engine.connect() as conn:
            outbox_rows = conn.execute(
                sa.select(t.outbox.c.status, sa.func.count()).group_by(t.outbox.c.status)
            ).all()
            return {
                "inbound": count_by_status(conn),
                "outbox": {str(s): int(n) for s, n in outbox_rows},
                "clocks": count_attention_needed(conn, now),
                # A sending process that keeps dying shows here before mail goes stale.
                "sending_processes": [
                    {"name": p.name, "pid": p.pid, "restarts": p.restarts}
                    for p in runtime.email_senders
                ],
                # Which jobs this instance holds (several instances: docs/operations.md).
                "instance": runtime.status(),
            }

    @api.get("/api/quarantine")
    def quarantine() -> list[dict[str, Any]]:
        c = t.inbound_messages.c
        with app.engine.connect() as conn:
            rows = conn.execute(
                sa.select(c.id, c.channel, c.source, c.stored_at, c.reason, c.sender)
                .where(c.status == "quarantined")
                .order_by(c.id.desc())
                .limit(200)
            ).all()
        return [
            {
                "id": r.id,
                "channel": r.channel,
                "source": r.source,
                "stored_at": r.stored_at.isoformat(),
                "reason": r.reason,
                "sender": r.sender,
            }
            for r in rows
        ]

    @api.get("/api/clocks/attention")
    def attention() -> list[dict[str, Any]]:
        now = app.now()
        with app.engine.connect() as conn:
            found = attention_needed(conn, now, limit=500)
        return [
            {
                "interaction_id": s.interaction_id,
                "policy": s.clock.policy,
                "due_at": s.clock.due_at.isoformat(),
                "state": s.clock.state(now).value,
            }
            for s in found
        ]

    @api.get("/api/interactions/{reference}")
    def interaction(reference: str) -> dict[str, Any]:
        c = t.interactions.c
        with app.engine.connect() as conn:
            row = conn.execute(
                sa.select(t.interactions).where(c.reference == reference.upper())
            ).first()
            if row is None:
                raise HTTPException(status_code=404, detail="no such reference")
            clocks = app.clocks.clocks_for(conn, row.id)
        now = app.now()
        return {
            "reference": row.reference,
            "channel": row.channel,
            "topic": row.topic,
            "urgency": row.urgency,
            "team": row.team,
            "owner": row.owner,
            "status": row.status,
            "clocks": [
                {
                    "policy": s.clock.policy,
                    "due_at": s.clock.due_at.isoformat(),
                    "state": s.clock.state(now).value,
                    "outcome": s.clock.outcome,
                }
                for s in clocks
            ],
        }

    _include_area_routers(api, app)
    return api
