"""The runtime's part in several instances (bot/runtime.py), with a stand-in for the locks:
a mailbox is watched only while its lock is held, watched again by a fresh intake when the
lock comes back, and stored messages are decided on only by the holder of `inbound`."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, ClassVar

import sqlalchemy as sa

from bot.runtime import INBOUND_LOCK, Runtime
from bot.settings import Settings


class Locks:
    """Grants what `free` names; `revoke` takes a lock away as a lost connection would."""

    def __init__(self) -> None:
        self.free: set[str] = set()
        self._held: set[str] = set()
        self._lost: set[str] = set()

    @property
    def held(self) -> frozenset[str]:
        return frozenset(self._held)

    def take(self, name: str) -> bool:
        if name in self.free:
            self._held.add(name)
        return name in self._held

    def revoke(self, name: str) -> None:
        self.free.discard(name)
        self._held.discard(name)
        self._lost.add(name)

    def check(self) -> frozenset[str]:
        lost, self._lost = frozenset(self._lost), set()
        return lost

    def close(self) -> None:
        self._held.clear()


class Intake:
    built: ClassVar[list[Intake]] = []

    def __init__(self) -> None:
        self.stopped = asyncio.Event()
        self.running = False
        Intake.built.append(self)

    async def run(self) -> None:
        self.running = True
        await self.stopped.wait()
        self.running = False

    def stop(self) -> None:
        self.stopped.set()


class Pipeline:
    def __init__(self) -> None:
        self.passes = 0

    def process_pending(self) -> list[Any]:
        self.passes += 1
        return []


def _runtime() -> tuple[Runtime, Locks, Pipeline]:
    pipeline = Pipeline()
    app: Any = SimpleNamespace(
        settings=Settings(),
        engine=sa.create_engine("sqlite://"),  # never connected: the locks are stand-ins
        pipeline=pipeline,
        outbox=SimpleNamespace(worker_id="w", wake=lambda: None, stop=lambda: None),
    )
    runtime = Runtime(app, poll_seconds=0.02)
    locks = Locks()
    runtime.locks = locks  # type: ignore[assignment]
    runtime.intake_factories = {"housing": Intake}
    return runtime, locks, pipeline


def test_a_mailbox_is_watched_only_while_its_lock_is_held_and_again_when_it_returns() -> None:
    async def scenario() -> None:
        Intake.built.clear()
        runtime, locks, _ = _runtime()
        await runtime._apply_locks()
        assert Intake.built == []  # another instance holds it
        locks.free.add("mailbox:housing")
        await runtime._apply_locks()
        await asyncio.sleep(0.01)
        (first,) = Intake.built
        assert first.running and runtime.intakes == {"housing": first}
        locks.revoke("mailbox:housing")
        await runtime._apply_locks()
        await asyncio.sleep(0.01)
        assert not first.running  # stopped at once: someone else may watch it now
        locks.free.add("mailbox:housing")
        await runtime._apply_locks()
        await asyncio.sleep(0.01)
        assert len(Intake.built) == 2 and Intake.built[1].running  # a fresh one
        await runtime.stop(grace_seconds=2)

    asyncio.run(scenario())


def test_only_the_holder_of_inbound_decides() -> None:
    async def scenario() -> None:
        runtime, locks, pipeline = _runtime()
        loop = asyncio.create_task(runtime._process_loop())
        await asyncio.sleep(0.2)
        assert pipeline.passes == 0
        locks.free.add(INBOUND_LOCK)
        await runtime._apply_locks()
        await asyncio.sleep(0.2)
        assert pipeline.passes > 0
        runtime._stopping.set()
        runtime._wake_inbound.set()
        await loop

    asyncio.run(scenario())
