"""Twilio's webhooks: inbound texts and delivery status callbacks.

Thin, as style.md asks: check the signature, store, return. Every request is checked
against `X-Twilio-Signature` with the SDK's `RequestValidator`, computed on the PUBLIC URL
Twilio called (`public_url` + path + query): behind a proxy the local URL differs, and a
helpdesk that validated against the wrong one rejected genuine messages (domain.md). A bad
or missing signature gets 403 and a log line (numbers redacted) and nothing is stored.

An inbound text is stored raw first (`Pipeline.store_raw`, idempotent on the MessageSid, so a
redelivery is harmless), the processor is woken, and Twilio gets an empty TwiML answer at
once; classification and replies happen in the workers. The one thing done here is an
opt-out or opt-in word: it changes whether we may text the number at all, so it takes effect
before the next outbox pass rather than when the processor gets to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from starlette.datastructures import MultiDict
from twilio.request_validator import RequestValidator

from bot.bootstrap import App
from bot.domain.model import Channel
from bot.storage import tables as t
from bot.storage.repository import UnitOfWork
from bot.web.limits import read_body
from channels.sms.adapter import INBOUND_PATH, SOURCE, STATUS_PATH
from channels.sms.conversation import OPTED_IN_EVENT, OPTED_OUT_EVENT
from channels.sms.optout import Keyword, apply_at_intake, keyword
from channels.sms.phone import redact

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SIGNATURE_HEADER = "X-Twilio-Signature"

# Delivery statuses in the order a message moves through them: a late callback for an
# earlier state (they can arrive out of order) never overwrites a later one.
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "read": 5,
    "undelivered": 6,
    "failed": 6,
    "canceled": 6,
}


def public_url(base: str, request: Request) -> str:
    """The URL Twilio called: our public base, then the path and query it asked for."""
    url = base.rstrip("/") + request.url.path
    query = request.url.query
    return f"{url}?{query}" if query else url


class _Verifier:
    def __init__(self, app: App) -> None:
        token = app.settings.twilio_auth_token
        self._validator = RequestValidator(token) if token else None
        self._base = app.settings.public_url
        self._max_body = app.settings.web.webhook_max_body_bytes

    async def form(self, request: Request) -> tuple[bytes, MultiDict] | None:
        signature = request.headers.get(SIGNATURE_HEADER)
        url = public_url(self._base, request)
        if self._validator is None or not signature:
            # Limits before work: what can never be accepted is refused unread.
            reason = "no X-Twilio-Signature" if self._validator else "no DOORSTEP_TWILIO_AUTH_TOKEN"
            log.warning(
                "rejected Twilio webhook %s: %s; checked against %s",
                request.url.path,
                reason,
                url.split("?", 1)[0],
            )
            return None
        # The signature covers the whole form, so the body must be read to check it: it is
        # read within web.webhook_max_body_bytes (413 past it), then parsed.
        raw = await read_body(request, self._max_body)
        form = MultiDict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        if not self._validator.validate(url, form, signature):
            log.warning(
                "rejected Twilio webhook %s (From %s, To %s): %s; checked against %s",
                request.url.path,
                redact(form.get("From")),
                redact(form.get("To")),
                "signature does not match",
                url.split("?", 1)[0],
            )
            return None
        return raw, form


def _store_inbound(
    app: App, raw: bytes, form: MultiDict, sid: str, lock: AbstractContextManager[Any]
) -> int | None:
    with lock:
        return _store(app, raw, form, sid)


def _store(app: App, raw: bytes, form: MultiDict, sid: str) -> int | None:
    sender = (form.get("From") or "").strip()
    body = form.get("Body") or ""
    if sender and keyword(body) in (Keyword.OPT_OUT, Keyword.OPT_IN):
        with UnitOfWork(app.engine, app.now) as uow:
            acted = apply_at_intake(uow, sender, body, app.now())
            if acted is not None:
                kind = OPTED_IN_EVENT if acted is Keyword.OPT_IN else OPTED_OUT_EVENT
                uow.add_event(None, kind, {"message_sid": sid})
            uow.commit()
    return app.pipeline.store_raw(Channel.SMS, SOURCE, sid, raw)


def record_status(engine: sa.Engine, sid: str, status: str, error_code: str | None) -> bool:
    """Track a text's delivery (queued, sent, delivered, failed, undelivered)."""
    c = t.outbox.c
    with engine.begin() as conn:
        row = conn.execute(
            sa.select(c.id, c.provider_status).where(
                c.provider_id == sid, c.channel == Channel.SMS.value
            )
        ).first()
        if row is None:
            return False
        if STATUS_RANK.get(status, 0) < STATUS_RANK.get(row.provider_status or "", -1):
            return True
        values: dict[str, Any] = {"provider_status": status[:40]}
        if error_code:
            values["last_error"] = f"twilio delivery error {error_code}: {status}"
        conn.execute(t.outbox.update().where(c.id == row.id).values(values))
    return True


def build_router(app: App) -> APIRouter:
    router = APIRouter(tags=["sms"])
    verifier = _Verifier(app)
    # SQLite has one writer at a time, and a writer that finds the database busy sleeps in
    # growing steps (up to 100 ms); queueing our own webhook writes in order instead keeps
    # the answer to Twilio fast. PostgreSQL takes them concurrently.
    lock: AbstractContextManager[Any] = (
        threading.Lock() if app.engine.dialect.name == "sqlite" else contextlib.nullcontext()
    )

    @router.post(INBOUND_PATH, include_in_schema=False)
    async def inbound(request: Request) -> Response:
        checked = await verifier.form(request)
        if checked is None:
            return Response("forbidden", status_code=403, media_type="text/plain")
        raw, form = checked
        sid = form.get("MessageSid") or form.get("SmsSid")
        if not sid:
            return Response("no MessageSid", status_code=400, media_type="text/plain")
        await asyncio.to_thread(_store_inbound, app, raw, form, sid, lock)
        runtime = getattr(request.app.state, "runtime", None)
        if runtime is not None:
            runtime.wake_inbound()
        return Response(EMPTY_TWIML, media_type="application/xml")

    @router.post(STATUS_PATH, include_in_schema=False)
    async def status(request: Request) -> Response:
        checked = await verifier.form(request)
        if checked is None:
            return Response("forbidden", status_code=403, media_type="text/plain")
        _, form = checked
        sid = form.get("MessageSid") or form.get("SmsSid")
        state = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
        if sid and state:
            known = await asyncio.to_thread(
                record_status, app.engine, sid, state, form.get("ErrorCode") or None
            )
            if not known:
                log.info("status %s for a text we do not know (%s)", state, sid)
        return Response(status_code=204)

    return router
