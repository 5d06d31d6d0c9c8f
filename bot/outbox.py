"""The persistent outbox: every outbound message is a row written in the same transaction as
the change it belongs to, then delivered by a worker with retries and back-off.

Claiming is one UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING, so
several workers on PostgreSQL never take the same row; SQLite serialises writers anyway.
A claimed row carries a lease: a worker that dies mid-send leaves a row that another worker
takes again when the lease runs out. The row's Message-ID was fixed when it was enqueued, so
such a resend is the same message to the receiving server, not a second acknowledgement.
A worker that is alive renews the leases of the rows it is still sending (a heartbeat every
third of `lease_seconds`), so a slow relay never lets another worker take a row from under
it, and the lease can be short: what a dead worker held goes again within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Awaitable, Callable, Collection, Mapping
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
_FINISH = t.outbox.update().where(
    t.outbox.c.id == sa.bindparam("b_id"), t.outbox.c.locked_by == sa.bindparam("b_worker")
)

_c = t.outbox.c
_RENEW = (
    t.outbox.update()
    .where(
        _c.id.in_(sa.bindparam("b_ids", expanding=True)),
        _c.locked_by == sa.bindparam("b_worker"),
        _c.status == "sending",
    )
    .values(locked_until=sa.bindparam("b_until"))
)


def new_worker_id() -> str:
    """Host, process and a random part: unique, and tells an operator whose lease a row is."""
    host = socket.gethostname().split(".", 1)[0][:40]
    return f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


SentHook = Callable[[sa.Connection, "ClaimedMessage", SendResult], None]


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    id: int
    attempts: int
    message_id: str | None
    message: OutboundMessage


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What became of one send, before it is recorded."""

    claimed: ClaimedMessage
    status: str  # sent, failed, suppressed, or pending (to be retried at `retry_at`)
    error: str | None = None
    result: SendResult | None = None
    retry_at: datetime | None = None


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
        channels: Collection[Channel] | None = None,
    ) -> None:
        self._engine = engine
        self._senders = senders
        self._settings = settings
        self._on_sent = on_sent
        self._clock = clock
        self.worker_id = worker_id or new_worker_id()
        # Rows claimed and not yet recorded: their leases are renewed while we live.
        self._in_flight: set[int] = set()
        self._in_flight_lock = threading.Lock()
        self.renewals = 0
        self._stop = asyncio.Event()
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._to_record: list[tuple[_Outcome, asyncio.Future[None]]] = []
        self._recording: asyncio.Task[None] | None = None
        # None: every channel. A worker in a sending process of its own takes only its
        # channels, and the serve process then leaves them to it (`hand_over`).
        self.channels: frozenset[Channel] | None = (
            frozenset(channels) if channels is not None else None
        )
        self._also_wake: list[Callable[[], None]] = []
        self._claim_built: tuple[frozenset[Channel] | None, sa.Select[Any], sa.Update] | None = None

    def _claim_statements(self) -> tuple[sa.Select[Any], sa.Update]:
        """The look and the claim, built once for this worker's channels (building them and
        their cache keys cost more than running them)."""
        built = self._claim_built
        if built is not None and built[0] == self.channels:
            return built[1], built[2]
        c = t.outbox.c
        now: sa.BindParameter[datetime] = sa.bindparam("b_now")
        ready = sa.or_(
            sa.and_(c.status == "pending", c.next_attempt_at <= now),
            sa.and_(c.status == "sending", c.locked_until < now),  # a dead worker's lease
        )
        mine = sa.select(c.id).where(ready)
        if self.channels is not None:
            mine = mine.where(c.channel.in_(sorted(ch.value for ch in self.channels)))
        look = mine.limit(1)
        inner = mine.order_by(c.next_attempt_at, c.id).limit(sa.bindparam("b_limit"))
        if self._engine.dialect.name == "postgresql":
            inner = inner.with_for_update(skip_locked=True)
        take = (
            t.outbox.update()
            .where(c.id.in_(inner.scalar_subquery()))
            .values(
                status="sending",
                locked_by=sa.bindparam("b_worker"),
                locked_until=sa.bindparam("b_until"),
                attempts=c.attempts + 1,
            )
            .returning(*t.outbox.c)
        )
        self._claim_built = (self.channels, look, take)
        return look, take

    @property
    def senders(self) -> SenderRegistry:
        return self._senders

    def hand_over(self, channels: Collection[Channel], wake: Callable[[], None]) -> None:
        """Leave `channels` to workers elsewhere; `wake()` here then calls `wake` for them too.

        Whatever queues a message (the pipeline, a staff reply, an appointment) calls this
        worker's `wake`, so the other workers hear of new work without waiting for a poll.
        """
        mine = self.channels if self.channels is not None else frozenset(Channel)
        self.channels = mine - frozenset(channels)
        self._also_wake.append(wake)

    def claim(self, limit: int = 20) -> list[ClaimedMessage]:
        now = self._clock()
        look, take = self._claim_statements()
        # Look before claiming: the claim is a write, and on SQLite a write waits its turn
        # with every other writer. A worker woken for work that is another's (serve's own
        # worker when email has a process of its own), or polling an empty outbox, would
        # otherwise take that turn for nothing, many times a second in a burst.
        with self._engine.connect() as conn:
            if conn.execute(look, {"b_now": now}).first() is None:
                return []
        params = {
            "b_now": now,
            "b_limit": limit,
            "b_worker": self.worker_id,
            "b_until": now + timedelta(seconds=self._settings.lease_seconds),
        }
        with self._engine.begin() as conn:
            rows = conn.execute(take, params).all()
        with self._in_flight_lock:
            self._in_flight.update(r.id for r in rows)
        return [_row_to_claimed(r) for r in sorted(rows, key=lambda r: r.id)]

    def renew_leases(self) -> int:
        """Push the lease of every row this worker is still sending `lease_seconds` ahead;
        returns how many rows were renewed."""
        with self._in_flight_lock:
            ids = sorted(self._in_flight)
        if not ids:
            return 0
        until = self._clock() + timedelta(seconds=self._settings.lease_seconds)
        with self._engine.begin() as conn:
            renewed = conn.execute(
                _RENEW, {"b_ids": ids, "b_worker": self.worker_id, "b_until": until}
            ).rowcount
        self.renewals += 1
        return int(renewed or 0)

    async def _heartbeat(self) -> None:
        every = max(self._settings.lease_seconds / 3, 0.05)
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=every)
            if self._stop.is_set():
                return
            try:
                await asyncio.to_thread(self.renew_leases)
            except Exception as exc:
                # The database is away: the rows go again after their lease, same Message-ID.
                log.warning("outbox lease renewal failed: %s", type(exc).__name__)

    async def deliver(self, claimed: ClaimedMessage, holds: Mapping[int, str] | None = None) -> str:
        """Send one claimed message and record the outcome. Returns the new status.

        `holds` are the address holds found for this batch (checked when it was claimed);
        without them this message's address is checked here.
        """
        now = self._clock()
        if holds is None:
            holds = await asyncio.to_thread(self._holds, [claimed], now)
        outcome = await self._send(claimed, holds.get(claimed.id), now)
        await self._record_soon(outcome)
        return outcome.status

    async def _send(self, claimed: ClaimedMessage, held: str | None, now: datetime) -> _Outcome:
        if held is not None:
            # A bounce (or an opt-out) arrived after this automatic message was queued: the
            # address gets no more automatic mail while the hold lasts. Recorded, not sent.
            return _Outcome(claimed, "suppressed", error=f"address on hold: {held}")
        try:
            sender = self._senders.get(claimed.message.channel)
            result = await sender.send(claimed.message)
        except TransientSendError as exc:
            return self._retry_or_fail(claimed, str(exc), now)
        except PermanentSendError as exc:
            return _Outcome(claimed, "failed", error=str(exc))
        except Exception as exc:  # a bug in a sender must not stop the outbox
            log.exception("sender crashed on outbox row %s", claimed.id)
            return self._retry_or_fail(claimed, f"{type(exc).__name__}: {exc}", now)
        return _Outcome(claimed, "sent", result=result)

    def _retry_or_fail(self, claimed: ClaimedMessage, error: str, now: datetime) -> _Outcome:
        if claimed.attempts >= self._settings.max_attempts:
            return _Outcome(claimed, "failed", error=f"gave up after {claimed.attempts}: {error}")
        delay = min(
            self._settings.backoff_seconds * 2 ** (claimed.attempts - 1),
            self._settings.backoff_max_seconds,
        )
        return _Outcome(claimed, "pending", error=error, retry_at=now + timedelta(seconds=delay))

    def _holds(self, claimed: list[ClaimedMessage], now: datetime) -> dict[int, str]:
        """Address holds on the automatic messages among `claimed`, by outbox id."""
        found: dict[int, str] = {}
        auto = [item for item in claimed if item.message.auto]
        if not auto:
            return found
        with UnitOfWork(self._engine, self._clock) as uow:
            for item in auto:
                reason = uow.active_hold(item.message.channel.value, item.message.recipient, now)
                if reason is not None:
                    found[item.id] = reason
        return found

    def _claim_with_holds(self, limit: int) -> tuple[list[ClaimedMessage], dict[int, str]]:
        claimed = self.claim(limit)
        try:
            return claimed, self._holds(claimed, self._clock()) if claimed else {}
        except BaseException:
            with self._in_flight_lock:  # left to their lease, as in run_once
                self._in_flight.difference_update(item.id for item in claimed)
            raise

    async def _record_soon(self, outcome: _Outcome) -> None:
        """Record an outcome; returns once it is committed.

        Group commit: outcomes that finish while a write is under way are recorded together
        in the next one. Each send is still recorded before `deliver` returns, but a burst
        no longer queues one write transaction per message for SQLite's single writer.
        """
        loop = asyncio.get_running_loop()
        if self._recording is not None and self._recording.get_loop() is not loop:
            self._recording, self._to_record = None, []  # left over from a finished loop
        done: asyncio.Future[None] = loop.create_future()
        self._to_record.append((outcome, done))
        if self._recording is None or self._recording.done():
            self._recording = loop.create_task(self._record_waiting())
        await done

    async def _record_waiting(self) -> None:
        while self._to_record:
            batch, self._to_record = self._to_record, []
            try:
                await asyncio.to_thread(self._record, [outcome for outcome, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    def _record(self, outcomes: list[_Outcome]) -> None:
        """Write outcomes in one transaction (and stop the clocks the sends kept)."""
        with self._engine.begin() as conn:
            for outcome in outcomes:
                claimed = outcome.claimed
                values: dict[str, Any] = {
                    "b_id": claimed.id,
                    "b_worker": self.worker_id,
                    "status": outcome.status,
                    "locked_by": None,
                    "locked_until": None,
                }
                if outcome.error is not None:
                    values["last_error"] = outcome.error[:2000]
                if outcome.retry_at is not None:
                    values["next_attempt_at"] = outcome.retry_at
                result = outcome.result
                if result is not None:
                    values["sent_at"] = self._clock()
                    values["provider_id"] = result.provider_id
                    values["provider_status"] = result.status
                # Only while the lease is ours: a row another worker took over after our
                # lease ran out is theirs to record.
                conn.execute(_FINISH, values)
                if result is not None and self._on_sent is not None:
                    self._on_sent(conn, claimed, result)
        with self._in_flight_lock:
            self._in_flight.difference_update(outcome.claimed.id for outcome in outcomes)

    async def run_once(self, limit: int | None = None) -> int:
        claimed, holds = await asyncio.to_thread(
            self._claim_with_holds, limit or self._settings.batch
        )
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
                    await self.deliver(item, holds)

        try:
            async with contextlib.AsyncExitStack() as batches:
                # A sender that can keep a connection across messages (SMTP) does so for
                # this batch, and closes it when the batch is done.
                for channel in {item.message.channel for item in claimed}:
                    sender = self._senders.find(channel)
                    batch = getattr(sender, "batch", None)
                    if batch is not None:
                        await batches.enter_async_context(batch())
                await asyncio.gather(*(in_order(items) for items in queues.values()))
        finally:
            # Whatever was not recorded (the database went away mid-batch) is left to its
            # lease: no longer renewed, it goes again once the lease runs out.
            with self._in_flight_lock:
                self._in_flight.difference_update(item.id for item in claimed)
        return len(claimed)

    def wake(self) -> None:
        """Send what is due now. Safe from any thread: the pipeline and the appointment
        worker call it from worker threads, where setting the event directly would not wake
        the loop (the burst would wait for the next poll)."""
        self._threadsafe(self._wake.set)
        for wake in self._also_wake:
            wake()

    def stop(self) -> None:
        self._threadsafe(self._stop.set)
        self._threadsafe(self._wake.set)

    def _threadsafe(self, action: Callable[[], None]) -> None:
        loop = self._loop
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if loop is None or loop is current or loop.is_closed():
            action()
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(action)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        heartbeat = asyncio.create_task(self._heartbeat(), name="outbox-heartbeat")
        try:
            await self._run_passes()
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _run_passes(self) -> None:
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
