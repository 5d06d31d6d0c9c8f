"""The persistent outbox on real SQLite and PostgreSQL: several workers share the work with no
message sent twice and none left behind; a dead worker's lease is taken over with the same
Message-ID; one recipient's messages keep their order while others go side by side;
retries, back-off and permanent failures (ACK-2: exactly one acknowledgement per enquiry)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.domain.model import Channel, OutboundMessage
from bot.outbox import OutboxWorker
from bot.settings import Outbox as OutboxSettings
from bot.storage import tables as t
from bot.storage.repository import UnitOfWork
from channels.base import (
    CollectingSender,
    PermanentSendError,
    SenderRegistry,
    SendResult,
    TransientSendError,
)
from tests.fakes import FakeClock

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)


class SlowRecorder:
    """A sender that takes a little time, records every send and the most in flight at once."""

    channel = Channel.EMAIL

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.sent: list[OutboundMessage] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    async def send(self, message: OutboundMessage) -> SendResult:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            with self._lock:
                self.in_flight -= 1
                self.sent.append(message)
        return SendResult(provider_id=f"id-{message.idempotency_key}")


def _enqueue(engine: sa.Engine, messages: list[OutboundMessage]) -> list[int | None]:
    with UnitOfWork(engine, lambda: NOW) as uow:
        ids = [
            uow.enqueue(m, message_id=f"<{m.idempotency_key}@landlord.example>") for m in messages
        ]
        uow.commit()
    return ids


def _message(key: str, recipient: str, kind: str = "acknowledgement") -> OutboundMessage:
    return OutboundMessage(
        channel=Channel.EMAIL,
        recipient=recipient,
        body=f"Thank you ({key})",
        idempotency_key=key,
        subject="We have your message",
        kind=kind,
    )


def _real_clock() -> datetime:
    """Real time passing, from NOW (what the rows were queued at)."""
    return NOW + timedelta(seconds=time.monotonic() - _STARTED)


_STARTED = time.monotonic()


def _worker(
    engine: sa.Engine,
    sender: object,
    clock: Callable[[], datetime],
    name: str,
    **settings: object,
) -> OutboxWorker:
    registry = SenderRegistry()
    registry.register(sender)  # type: ignore[arg-type]
    return OutboxWorker(engine, registry, OutboxSettings(**settings), clock=clock, worker_id=name)  # type: ignore[arg-type]


def _statuses(engine: sa.Engine) -> Counter[str]:
    with engine.connect() as conn:
        return Counter(str(s) for s in conn.execute(sa.select(t.outbox.c.status)).scalars())


def test_several_workers_send_every_message_exactly_once(engine: sa.Engine) -> None:
    messages = [_message(f"ack:{n}", f"resident{n % 150}@example.net") for n in range(300)]
    _enqueue(engine, messages)
    sender = SlowRecorder(delay=0.001)
    clock = FakeClock(NOW)
    workers = [_worker(engine, sender, clock, f"w{n}", concurrency=3) for n in range(3)]

    def drain(worker: OutboxWorker) -> None:
        async def loop() -> None:
            while await worker.run_once(limit=10):
                pass

        asyncio.run(loop())

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    sent = Counter(m.idempotency_key for m in sender.sent)
    assert set(sent) == {m.idempotency_key for m in messages}  # none left behind
    assert max(sent.values()) == 1  # none sent twice
    assert _statuses(engine) == {"sent": 300}


def test_a_dead_workers_lease_is_taken_over_and_resent_with_the_same_message_id(
    engine: sa.Engine,
) -> None:
    _enqueue(engine, [_message("ack:1", "resident@example.net")])
    clock = FakeClock(NOW)
    dead = _worker(engine, SlowRecorder(), clock, "dead", lease_seconds=60)
    (claimed,) = dead.claim()  # ... and the process dies before sending
    sender = SlowRecorder()
    alive = _worker(engine, sender, clock, "alive", lease_seconds=60)
    assert asyncio.run(alive.run_once()) == 0  # the lease still holds
    clock.advance(seconds=61)
    assert asyncio.run(alive.run_once()) == 1
    (resent,) = sender.sent
    assert resent.meta["message_id"] == claimed.message.meta["message_id"]
    assert resent.meta["message_id"] == "<ack:1@landlord.example>"
    with engine.connect() as conn:
        row = conn.execute(sa.select(t.outbox)).one()
    assert (row.status, row.attempts, row.locked_by) == ("sent", 2, None)


def test_enqueueing_the_same_idempotency_key_twice_is_a_no_op(engine: sa.Engine) -> None:
    first = _enqueue(engine, [_message("ack:email:<m1@x>", "a@example.net")])
    second = _enqueue(engine, [_message("ack:email:<m1@x>", "a@example.net")])
    assert first[0] is not None and second == [None]
    assert _statuses(engine) == {"pending": 1}


def test_one_recipients_messages_keep_their_order_while_others_go_side_by_side(
    engine: sa.Engine,
) -> None:
    messages = [
        _message("ack:a", "a@example.net"),
        _message("ack:b", "b@example.net"),
        _message("procedure:a", "A@example.net", kind="procedure"),  # same mailbox
        _message("ack:c", "c@example.net"),
        _message("ack:d", "d@example.net"),
        _message("reply:a", "a@example.net", kind="reply"),
    ]
    _enqueue(engine, messages)
    sender = SlowRecorder(delay=0.05)
    worker = _worker(engine, sender, FakeClock(NOW), "w", concurrency=3)
    assert asyncio.run(worker.run_once()) == 6
    to_a = [m.idempotency_key for m in sender.sent if m.recipient.lower() == "a@example.net"]
    assert to_a == ["ack:a", "procedure:a", "reply:a"]
    assert 1 < sender.most_in_flight <= 3


def test_transient_failures_back_off_and_permanent_ones_stop(engine: sa.Engine) -> None:
    class Refusing:
        channel = Channel.EMAIL

        def __init__(self) -> None:
            self.calls: Counter[str] = Counter()

        async def send(self, message: OutboundMessage) -> SendResult:
            self.calls[message.recipient] += 1
            if message.recipient.startswith("gone"):
                raise PermanentSendError("550 5.1.1 no such user")
            raise TransientSendError("451 4.3.0 try again later")

    _enqueue(engine, [_message("ack:1", "gone@example.net"), _message("ack:2", "busy@example.net")])
    sender = Refusing()
    clock = FakeClock(NOW)
    worker = _worker(
        engine, sender, clock, "w", max_attempts=3, backoff_seconds=10, backoff_max_seconds=15
    )
    assert asyncio.run(worker.run_once()) == 2
    assert asyncio.run(worker.run_once()) == 0  # backing off
    for _ in range(5):
        clock.advance(seconds=16)
        asyncio.run(worker.run_once())
    assert sender.calls == {"gone@example.net": 1, "busy@example.net": 3}
    with engine.connect() as conn:
        rows = {r.recipient: r for r in conn.execute(sa.select(t.outbox))}
    assert rows["gone@example.net"].status == "failed"
    assert "550" in rows["gone@example.net"].last_error
    assert rows["busy@example.net"].status == "failed"
    assert rows["busy@example.net"].last_error.startswith("gave up after 3")


def test_a_worker_for_some_channels_leaves_the_others_to_their_own_worker(
    engine: sa.Engine,
) -> None:
    """`doorstep serve` hands email to a sending process of its own; each takes only its rows."""
    text = OutboundMessage(
        channel=Channel.SMS, recipient="+447700900123", body="Booked", idempotency_key="sms:1"
    )
    _enqueue(engine, [_message("ack:1", "a@example.net"), text, _message("ack:2", "b@example.net")])
    clock = FakeClock(NOW)
    emails, texts = SlowRecorder(), CollectingSender(Channel.SMS)
    registry = SenderRegistry()
    registry.register(emails)  # type: ignore[arg-type]
    registry.register(texts)
    serve = OutboxWorker(engine, registry, OutboxSettings(), clock=clock, worker_id="serve")
    woken: list[str] = []
    serve.hand_over({Channel.EMAIL}, lambda: woken.append("email process"))
    assert serve.channels == frozenset(Channel) - {Channel.EMAIL}
    serve.wake()
    assert woken == ["email process"]  # new work reaches the other worker at once
    assert asyncio.run(serve.run_once()) == 1
    assert [m.idempotency_key for m in texts.sent] == ["sms:1"] and emails.sent == []

    email_process = OutboxWorker(
        engine, registry, OutboxSettings(), clock=clock, worker_id="email", channels={Channel.EMAIL}
    )
    assert asyncio.run(email_process.run_once()) == 2
    assert sorted(m.idempotency_key for m in emails.sent) == ["ack:1", "ack:2"]
    assert _statuses(engine) == {"sent": 3}


def test_a_live_worker_renews_its_leases_so_a_slow_send_is_never_taken_from_it(
    engine: sa.Engine,
) -> None:
    """Short leases are safe: while a worker lives, its heartbeat keeps its rows its own,
    however slow the relay; another worker looking meanwhile finds nothing to take."""
    _enqueue(engine, [_message("ack:slow", "resident@example.net")])
    slow = SlowRecorder(delay=1.5)  # five lease lengths
    other_sender = SlowRecorder()
    fast = 0.3  # seconds of lease; renewed every 0.1 s

    async def scenario() -> int:
        owner = _worker(engine, slow, _real_clock, "owner", lease_seconds=fast)
        other = _worker(engine, other_sender, _real_clock, "other", lease_seconds=fast)
        running = asyncio.create_task(owner.run())
        took = 0
        for _ in range(10):
            await asyncio.sleep(0.12)
            took += await other.run_once()
        await _until(lambda: len(slow.sent) == 1)
        owner.stop()
        await running
        assert owner.renewals >= 5
        return took

    assert asyncio.run(scenario()) == 0
    assert other_sender.sent == [] and len(slow.sent) == 1
    assert _statuses(engine) == {"sent": 1}


def test_a_dead_workers_rows_go_again_once_its_short_lease_runs_out(engine: sa.Engine) -> None:
    """No heartbeat, no lease: a worker killed mid-send (it claimed, and renews no more)
    holds its rows for `lease_seconds` only, then another worker sends them, same Message-ID."""
    _enqueue(engine, [_message(f"ack:{n}", f"r{n}@example.net") for n in range(5)])
    dead = _worker(engine, SlowRecorder(), _real_clock, "dead", lease_seconds=0.5)
    assert len(dead.claim()) == 5
    sender = SlowRecorder()
    alive = _worker(engine, sender, _real_clock, "alive", lease_seconds=0.5)

    async def drain() -> float:
        started = asyncio.get_running_loop().time()
        while len(sender.sent) < 5:
            await alive.run_once()
            await asyncio.sleep(0.05)
        return asyncio.get_running_loop().time() - started

    waited = asyncio.run(asyncio.wait_for(drain(), timeout=10))
    assert 0.3 < waited < 5
    assert sorted(m.meta["message_id"] for m in sender.sent) == sorted(
        f"<ack:{n}@landlord.example>" for n in range(5)
    )


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.02)
