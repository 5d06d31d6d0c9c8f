"""The persistent outbox: every outbound message is a row written in the same transaction as
the change it belongs to, then delivered by a worker with retries and back-off.

Claiming is one UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING, so
several workers on PostgreSQL never take the same row; SQLite serialises writers anyway.
A claimed row carries a lease: a worker that dies mid-send leaves a row that another worker
takes again when the lease runs out. The row's Message-ID was fixed when it was enqueued, so
such a resend is the same message to the receiving server, not a second acknowledgement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.domain.model import Channel, OutboundMessage
from bot.settings import Outbox as OutboxSettings
from bot.storage import tables as t
from bot.storage.repository import UnitOfWork
from channels.base import PermanentSendError, SenderRegistry, SendResult, TransientSendError

log = logging.getLogger(__name__)

# Built once: bound values at execution keep SQLAlchemy's per-statement work small.
_FINISH = t.outbox.update().where(t.outbox.c.id == sa.bindparam("b_id"))

SentHook = Callable[[sa.Connection, "ClaimedMessage", SendResult], None]


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: int
    attempts: int
    message_id: str | None
    message: OutboundMessage


def _row_to_claimed(row: Any) -> ClaimedMessage:
    return ClaimedMessage(
        id=row.id,
        attempts=row.attempts,
        message_id=row.message_id,
        message=OutboundMessage(
            channel=Channel(row.channel),
            recipient=row.recipient,
            body=row.body,
            idempotency_key=row.idempotency_key,
            subject=row.subject,
            html=row.html,
            sender=row.sender,
            in_reply_to=row.in_reply_to,
            references=tuple(row.references or ()),
            interaction_id=row.interaction_id,
            kind=row.kind,
            auto=row.auto,
            meta={**(row.meta or {}), **({"message_id": row.message_id} if row.message_id else {})},
        ),
    )


class OutboxWorker:
    def __init__(
        self,
        engine: sa.Engine,
        senders: SenderRegistry,
        settings: OutboxSettings,
        *,
        on_sent: SentHook | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        worker_id: str | None = None,
    ) -> None:
        self._engine = engine
        self._senders = senders
        self._settings = settings
        self._on_sent = on_sent
        self._clock = clock
        self.worker_id = worker_id or uuid.uuid4().hex[:12]
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()

    def claim(self, limit: int = 20) -> list[ClaimedMessage]:
        now = self._clock()
        c = t.outbox.c
        ready = sa.or_(
            sa.and_(c.status == "pending", c.next_attempt_at <= now),
            sa.and_(c.status == "sending", c.locked_until < now),  # a dead worker's lease
        )
        inner = sa.select(c.id).where(ready).order_by(c.next_attempt_at, c.id).limit(limit)
        if self._engine.dialect.name == "postgresql":
            inner = inner.with_for_update(skip_locked=True)
        stmt = (
            t.outbox.update()
            .where(c.id.in_(inner.scalar_subquery()))
            .values(
                status="sending",
                locked_by=self.worker_id,
                locked_until=now + timedelta(seconds=self._settings.lease_seconds),
                attempts=c.attempts + 1,
            )
            .returning(*t.outbox.c)
        )
        with self._engine.begin() as conn:
            rows = conn.execute(stmt).all()
        return [_row_to_claimed(r) for r in sorted(rows, key=lambda r: r.id)]

    async def deliver(self, claimed: ClaimedMessage) -> str:
        """Send one claimed message and record the outcome. Returns the new status."""
        # The database calls run in a thread: on SQLite a write waits its turn behind the
        # pipeline's transaction, and the event loop (IMAP intake, web) must not wait too.
        now = self._clock()
        held = await asyncio.to_thread(self._held, claimed, now) if claimed.message.auto else None
        if held is not None:
            # A bounce (or an opt-out) arrived after this automatic message was queued: the
            # address gets no more automatic mail while the hold lasts. Recorded, not sent.
            await asyncio.to_thread(
                self._finish, claimed, "suppressed", error=f"address on hold: {held}"
            )
            return "suppressed"
        try:
            sender = self._senders.get(claimed.message.channel)
            result = await sender.send(claimed.message)
        except TransientSendError as exc:
            return await asyncio.to_thread(self._retry_or_fail, claimed, str(exc), now)
        except PermanentSendError as exc:
            await asyncio.to_thread(self._finish, claimed, "failed", error=str(exc))
            return "failed"
        except Exception as exc:  # a bug in a sender must not stop the outbox
            log.exception("sender crashed on outbox row %s", claimed.id)
            error = f"{type(exc).__name__}: {exc}"
            return await asyncio.to_thread(self._retry_or_fail, claimed, error, now)
        await asyncio.to_thread(self._finish, claimed, "sent", result=result)
        return "sent"

    def _held(self, claimed: ClaimedMessage, now: datetime) -> str | None:
        with UnitOfWork(self._engine, self._clock) as uow:
            return uow.active_hold(claimed.message.channel.value, claimed.message.recipient, now)

    def _retry_or_fail(self, claimed: ClaimedMessage, error: str, now: datetime) -> str:
        if claimed.attempts >= self._settings.max_attempts:
            self._finish(claimed, "failed", error=f"gave up after {claimed.attempts}: {error}")
            return "failed"
        delay = min(
            self._settings.backoff_seconds * 2 ** (claimed.attempts - 1),
            self._settings.backoff_max_seconds,
        )
        c = t.outbox.c
        with self._engine.begin() as conn:
            conn.execute(
                t.outbox.update()
                .where(c.id == claimed.id, c.locked_by == self.worker_id)
                .values(
                    status="pending",
                    last_error=error[:2000],
                    next_attempt_at=now + timedelta(seconds=delay),
                    locked_by=None,
                    locked_until=None,
                )
            )
        return "pending"

    def _finish(
        self,
        claimed: ClaimedMessage,
        status: str,
        *,
        error: str | None = None,
        result: SendResult | None = None,
    ) -> None:
        values: dict[str, Any] = {
            "b_id": claimed.id,
            "status": status,
            "locked_by": None,
            "locked_until": None,
        }
        if error is not None:
            values["last_error"] = error[:2000]
        if result is not None:
            values["sent_at"] = self._clock()
            values["provider_id"] = result.provider_id
            values["provider_status"] = result.status
        with self._engine.begin() as conn:
            conn.execute(_FINISH, values)
            if result is not None and self._on_sent is not None:
                self._on_sent(conn, claimed, result)

    async def run_once(self, limit: int = 20) -> int:
        claimed = await asyncio.to_thread(self.claim, limit)
        if not claimed:
            return 0
        # One recipient's messages go in the order they were queued (the acknowledgement
        # before the complaints procedure); different recipients are sent side by side, so
        # a burst is not paced by one relay round trip after another.
        queues: dict[tuple[str, str], list[ClaimedMessage]] = {}
        for item in claimed:
            key = (item.message.channel.value, item.message.recipient.strip().lower())
            queues.setdefault(key, []).append(item)
        slots = asyncio.Semaphore(self._settings.concurrency)

        async def in_order(items: list[ClaimedMessage]) -> None:
            async with slots:
                for item in items:
                    await self.deliver(item)

        await asyncio.gather(*(in_order(items) for items in queues.values()))
        return len(claimed)

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                done = await self.run_once()
            except Exception:
                log.exception("outbox pass failed; retrying")
                done = 0
            if done:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._settings.poll_seconds)


RunOnce = Callable[[], Awaitable[int]]
