"""FastAPI application factory. Routes are thin: they read or store, then return."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.bootstrap import App, build_routers
from bot.domain.model import Channel
from bot.errors import DoorstepError, http_status
from bot.probe.health import channel_health
from bot.runtime import Runtime
from bot.service.alerts import summary as alerts_summary
from bot.service.clocks import attention_needed, count_attention_needed
from bot.service.pipeline import count_by_status
from bot.storage import tables as t
from bot.web import api_auth
from bot.web.api_auth import Principal, require
from bot.web.dashboard import audit
from bot.web.dashboard.errors import staff_error_handler
from bot.web.dashboard.queries import can_see
from bot.web.limits import BodyLimit
from bot.web.security import SecurityHeaders
from channels.email.health import mailbox_states

# Module level: the route's string annotation (postponed evaluation) is resolved here.
READ_SCOPE = require("read")


def _include_area_routers(api: FastAPI, app: App) -> None:
    for router in build_routers(app):  # typed factories, in the one wiring point
        api.include_router(router)


def _channel_health(app: App) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for channel in Channel:
        health = getattr(app.senders.find(channel), "health", None)
        if callable(health) and (state := health()):
            found[channel.value] = state
    return found


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

    docs = app.settings.api.docs  # the OpenAPI pages map every route: off unless asked for
    api = FastAPI(
        title="Doorstep",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    # Limits before work: a body is measured while it is read, before any endpoint parses it.
    api.add_middleware(BodyLimit, limits=app.settings.web)
    api.state.doorstep = app

    @api.exception_handler(DoorstepError)
    async def doorstep_error(_: Request, exc: DoorstepError) -> JSONResponse:
        # Mapped once (bot.errors.http_status); the message is safe to show.
        return JSONResponse({"detail": str(exc)}, status_code=http_status(exc))

    api.state.runtime = runtime

    @api.get("/healthz")
    def healthz() -> dict[str, str]:
        with app.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return {"status": "ok"}

    @api.get("/api/status", dependencies=[Depends(require("read"))])
    def status() -> dict[str, Any]:
        now = app.now()
        with app.engine.connect() as conn:
            outbox_rows = conn.execute(
                sa.select(t.outbox.c.status, sa.func.count()).group_by(t.outbox.c.status)
            ).all()
            return {
                "inbound": count_by_status(conn),
                "outbox": {str(s): int(n) for s, n in outbox_rows},
                "clocks": count_attention_needed(
                    conn, now, clocks=app.clocks, fraction=app.settings.sla.due_soon_fraction
                ),
                # A sending process that keeps dying shows here before mail goes stale.
                "sending_processes": [
                    {"name": p.name, "pid": p.pid, "restarts": p.restarts}
                    for p in runtime.email_senders
                ],
                # Each mailbox's intake: connected, or what is wrong (a refused secret...).
                "mailboxes": mailbox_states(app.extras),
                # A channel's own word on its health (an expired social page token).
                "channels": _channel_health(app),
                # Which jobs this instance holds (several instances: docs/operations.md).
                "instance": runtime.status(),
                # MONITOR: each channel as the mystery shopper last found it (docs/probe.md),
                # and the promises staff are being told about.
                "probes": [h.as_dict() for h in channel_health(conn, app.settings, now)],
                "alerts": alerts_summary(conn, app.clocks, app.settings, now),
            }

    # Quarantined messages can hold anything a resident wrote: admins only, among staff.
    @api.get("/api/quarantine", dependencies=[Depends(require("read", staff_roles=("admin",)))])
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

    @api.get(
        "/api/clocks/attention",
        dependencies=[Depends(require("read", staff_roles=("admin", "team_lead")))],
    )
    def attention() -> list[dict[str, Any]]:
        now = app.now()
        with app.engine.connect() as conn:
            # "Due soon" as the queue and the staff alerts say it (sla/due_soon.py), not the
            # warning time stored on the clock: a clock stored under an older rule agrees.
            fraction = app.settings.sla.due_soon_fraction
            found = attention_needed(conn, now, limit=500, clocks=app.clocks, fraction=fraction)
        return [
            {
                "interaction_id": s.interaction_id,
                "policy": s.clock.policy,
                "due_at": s.clock.due_at.isoformat(),
                "state": app.clocks.state(s.clock, now, fraction).value,
            }
            for s in found
        ]

    @api.get("/api/interactions/{reference}")
    def interaction(
        reference: str, request: Request, who: Annotated[Principal, Depends(READ_SCOPE)]
    ) -> dict[str, Any]:
        c = t.interactions.c
        with app.engine.begin() as conn:
            row = conn.execute(
                sa.select(t.interactions).where(c.reference == reference.upper())
            ).first()
            # Need-to-know: a case the member of staff may not open does not exist for them.
            if row is None or (who.user is not None and not can_see(who.user, row)):
                raise HTTPException(status_code=404, detail="no such reference")
            clocks = app.clocks.clocks_for(conn, row.id)
            audit.record(
                conn,
                actor=who.name,
                action="api_read",
                now=app.now(),
                user_id=who.user.id if who.user else None,
                interaction_id=row.id,
                client=request.client.host if request.client else None,
            )
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
                    "state": app.clocks.state(
                        s.clock, now, app.settings.sla.due_soon_fraction
                    ).value,
                    "outcome": s.clock.outcome,
                }
                for s in clocks
            ],
        }

    _include_area_routers(api, app)
    # Staff pages answer errors with a page (issue 20), other clients with JSON as before.
    api.add_exception_handler(
        StarletteHTTPException, staff_error_handler(app.settings.organisation)
    )
    api_auth.install(api, app)
    api.add_middleware(SecurityHeaders)  # added last: outermost, so 401s get the headers too
    return api
