"""The social webhooks: `/webhooks/meta` (Messenger, Instagram, Page and Instagram comments)
and `/webhooks/x` (X's Account Activity API, when `social.x.enabled`).

Thin, as style.md asks. Each POST is read up to `social.max_body_bytes` (a larger one is
refused while it is read, before anything else), its signature checked over the raw bytes
in constant time (a missing or wrong one: 403, nothing stored), and only then parsed. Each
message or comment is stored raw, keyed by its own id, so Meta's redeliveries store nothing
twice; our own echoes are ignored; delivery and read receipts update the outbox row. Then
the processor is woken and the provider gets its 200 at once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from bot.bootstrap import App
from bot.domain.model import Channel
from bot.storage import tables as t
from channels.social import events
from channels.social.signatures import meta_signature_valid, x_crc_response, x_signature_valid

log = logging.getLogger(__name__)

META_PATH = "/webhooks/meta"
X_PATH = "/webhooks/x"
_RECEIPT_RANK = {"sent": 0, "delivered": 1, "read": 2}


class TooLarge(Exception):
    pass


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is known to be over `limit` (never read whole)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def store_events(app: App, source: str, found: list[events.SocialEvent]) -> int:
    """Store the messages and comments, apply the receipts; returns how many were new."""
    wanted = [e for e in found if e.kind in ("dm", "comment", "mention")]
    new = 0
    if wanted:
        ids = app.pipeline.store_raw_many(
            Channel.SOCIAL, source, [(e.source_key, e.dump()) for e in wanted]
        )
        new = sum(1 for i in ids if i is not None)
    receipts = [e for e in found if e.kind in ("delivery", "read")]
    if receipts:
        with app.engine.begin() as conn:
            for receipt in receipts:
                record_receipt(conn, receipt)
    return new


def record_receipt(conn: sa.Connection, receipt: events.SocialEvent) -> None:
    """A delivery names the messages delivered; a read says everything the resident had
    been sent before its watermark was read. A late receipt never lowers the state."""
    c = t.outbox.c
    state = "delivered" if receipt.kind == "delivery" else "read"
    lower = [s for s, rank in _RECEIPT_RANK.items() if rank < _RECEIPT_RANK[state]]
    where = [c.channel == Channel.SOCIAL.value, sa.or_(c.provider_status.is_(None),
             c.provider_status.in_(lower))]  # fmt: skip
    if receipt.mids:
        where.append(c.provider_id.in_(receipt.mids))
    elif receipt.watermark is not None and receipt.sender_id:
        prefix = "fb" if receipt.platform == "messenger" else "ig"
        where += [
            c.recipient == f"{prefix}:{receipt.sender_id}",
            c.status == "sent",
            c.sent_at <= events.at_ms(receipt.watermark),
        ]
    else:
        return
    conn.execute(t.outbox.update().where(*where).values(provider_status=state))


def build_router(app: App) -> APIRouter:
    router = APIRouter(tags=["social"])
    social = app.settings.social
    limit = social.max_body_bytes

    def _wake(request: Request) -> None:
        runtime = getattr(request.app.state, "runtime", None)
        if runtime is not None:
            runtime.wake_inbound()

    @router.get(META_PATH, include_in_schema=False)
    async def meta_verify(request: Request) -> Response:
        params = request.query_params
        expected = social.meta.verify_token
        if (
            expected
            and params.get("hub.mode") == "subscribe"
            and _same(params.get("hub.verify_token"), expected)
        ):
            return PlainTextResponse(params.get("hub.challenge", ""))
        return PlainTextResponse("forbidden", status_code=403)

    @router.post(META_PATH, include_in_schema=False)
    async def meta_events(request: Request) -> Response:
        if not social.meta.app_secret:
            return PlainTextResponse("not configured", status_code=404)
        try:
            raw = await read_limited(request, limit)
        except TooLarge:
            return PlainTextResponse("too large", status_code=413)
        if not meta_signature_valid(
            social.meta.app_secret, raw, request.headers.get("x-hub-signature-256")
        ):
            log.warning("rejected Meta webhook: missing or wrong X-Hub-Signature-256")
            return PlainTextResponse("forbidden", status_code=403)
        try:
            found = events.meta_events(events.loads(raw))
        except events.PayloadError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        if await asyncio.to_thread(store_events, app, "meta", found):
            _wake(request)
        return PlainTextResponse("EVENT_RECEIVED")

    @router.get(X_PATH, include_in_schema=False)
    async def x_crc(request: Request) -> Response:
        token = request.query_params.get("crc_token")
        secret = social.x.consumer_secret
        if not (social.x.enabled and secret) or not token or len(token) > 1000:
            return PlainTextResponse("forbidden", status_code=403)
        return JSONResponse({"response_token": x_crc_response(secret, token)})

    @router.post(X_PATH, include_in_schema=False)
    async def x_events(request: Request) -> Response:
        secret = social.x.consumer_secret
        if not (social.x.enabled and secret):
            return PlainTextResponse("not configured", status_code=404)
        try:
            raw = await read_limited(request, limit)
        except TooLarge:
            return PlainTextResponse("too large", status_code=413)
        if not x_signature_valid(secret, raw, request.headers.get("x-twitter-webhooks-signature")):
            log.warning("rejected X webhook: missing or wrong x-twitter-webhooks-signature")
            return PlainTextResponse("forbidden", status_code=403)
        try:
            payload: dict[str, Any] = events.loads(raw)
        except events.PayloadError as exc:
            return PlainTextResponse(str(exc), status_code=400)
        if social.x.account_id and not payload.get("for_user_id"):
            payload["for_user_id"] = social.x.account_id
        found = events.x_events(payload)
        if await asyncio.to_thread(store_events, app, "x", found):
            _wake(request)
        return Response(status_code=200)

    return router


def _same(given: str | None, expected: str) -> bool:
    import hmac

    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
