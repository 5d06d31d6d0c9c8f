"""The web routes Microsoft Graph posts change notifications to (`intake: graph`).

`POST /webhooks/graph/{mailbox}` and `.../{mailbox}/lifecycle`. Graph first checks a new
subscription's URL with `?validationToken=...` and wants the token back as text/plain within
10 seconds: answered at once, before anything else. A notification is only checked (its
clientState must be the one we gave the subscription) and queued for the intake, then
answered 202 at once: Graph retries, and eventually drops, an endpoint slower than 3 s.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request, Response

if TYPE_CHECKING:
    from bot.bootstrap import App

log = logging.getLogger(__name__)

_MAX_BODY = 1024 * 1024  # a page of notifications is a few kilobytes


def build_router(app: App) -> APIRouter | None:
    if not any(m.intake == "graph" for m in app.settings.email.mailboxes):
        return None
    return graph_router(app.extras)


def graph_router(extras: dict[str, object]) -> APIRouter:
    """The routes, finding the running intake in `extras["graph_intakes"]` by mailbox at
    each request (the intake starts after the routes are built, and again when an instance
    takes the mailbox's lock)."""
    from channels.email.graph_intake import GraphIntake

    router = APIRouter()

    async def receive(mailbox: str, request: Request, *, lifecycle: bool) -> Response:
        token = request.query_params.get("validationToken")
        if token is not None:
            return Response(token, media_type="text/plain")
        body = await request.body()
        if len(body) > _MAX_BODY:
            return Response(status_code=413)
        try:
            payload = json.loads(body)
        except ValueError:
            return Response(status_code=400)
        running = extras.get("graph_intakes")
        intake = running.get(mailbox) if isinstance(running, dict) else None
        if isinstance(intake, GraphIntake):
            intake.handle_notifications(mailbox, payload, lifecycle=lifecycle)
        return Response(status_code=202)

    @router.post("/webhooks/graph/{mailbox}")
    async def notifications(mailbox: str, request: Request) -> Response:
        return await receive(mailbox, request, lifecycle=False)

    @router.post("/webhooks/graph/{mailbox}/lifecycle")
    async def lifecycle(mailbox: str, request: Request) -> Response:
        return await receive(mailbox, request, lifecycle=True)

    return router
