"""The long-running workers of `doorstep serve`: mail intake, inbound processing, outbox.

Intake only stores (store first, decide later); the processor and the outbox worker are
woken as soon as there is work, and poll as a safety net.

Several instances may share one PostgreSQL database (docs/operations.md). Each mailbox is
then watched by the one instance that holds its lock, and stored messages are decided on by
the one that holds the "inbound" lock (two deciding on the same message at once would
acknowledge it twice). A heartbeat checks the locks held and asks for the free ones, so when
an instance dies another takes its jobs within a heartbeat or two. The outbox needs no lock:
its rows are claimed one worker at a time, whichever instance runs it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

from bot.bootstrap import App, build_workers
from bot.domain.model import Channel
from bot.memory import give_back
from bot.sending import SendingProcess
from bot.storage.leases import InstanceLocks
from bot.storage.notices import Notices

log = logging.getLogger(__name__)

INBOUND_LOCK = "inbound"


def _area_workers(app: App) -> list[Any]:
    return list(build_workers(app))  # typed factories, in the one wiring point


class Runtime:
    def __init__(
        self,
        app: App,
        *,
        poll_seconds: float = 1.0,
        email_senders: Sequence[Sequence[str]] = (),
    ) -> None:
        """`email_senders`: commands of processes that send the email (`doorstep outbox`);
        none: this process sends it."""
        self.app = app
        self.poll_seconds = poll_seconds
        self.email_senders = [
            SendingProcess(command, name=f"email sending {n + 1}")
            for n, command in enumerate(email_senders)
        ]
        self._wake_inbound = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        # One intake per mailbox, running only while this instance holds the mailbox's lock;
        # a new one each time it is taken (a stopped intake stays stopped).
        self.intake_factories: dict[str, Callable[[], Any]] = {}
        self.intakes: dict[str, Any] = {}
        self._intake_tasks: dict[str, asyncio.Task[Any]] = {}
        self.workers: list[Any] = []
        self.locks = InstanceLocks(app.engine)
        self.notices = Notices(app.engine)
        self.heartbeat_seconds = app.settings.instances.heartbeat_seconds
        self._loop: asyncio.AbstractEventLoop | None = None
        # What is failing now, by area ("storing mail", "deciding", "locks"), for
        # /api/status: set when a pass fails, cleared by the next pass that works.
        self.faults: dict[str, str] = {}
        self._worked = False  # the last inbound pass found work

    def wake_inbound(self) -> None:
        self._wake_inbound.set()
        if INBOUND_LOCK not in self.locks.held:
            self.notices.publish("inbound")  # another instance decides: tell it

    def _wake_inbound_threadsafe(self, _key: str = "") -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake_inbound.set)

    def _fault(self, area: str, exc: BaseException | None) -> None:
        if exc is None:
            self.faults.pop(area, None)
            return
        from channels.email.redact import redact_text

        # The kind of error and the driver's words, addresses redacted: never SQL parameters.
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else ""
        self.faults[area] = f"{type(exc).__name__}: {redact_text(detail)[:200]}".rstrip(": ")

    def status(self) -> dict[str, Any]:
        """This instance's part, for /api/status: what it holds, whether notices flow, what
        is failing now, and the outbox rows waiting for another try."""
        return {
            "faults": dict(self.faults),
            "outbox_retrying": self._outbox_retrying(),
            "worker": self.app.outbox.worker_id,
            "holds": sorted(self.locks.held),
            "mailboxes_watched": sorted(
                name for name, task in self._intake_tasks.items() if not task.done()
            ),
            "notices": (
                ("listening" if self.notices.connected.is_set() else "reconnecting")
                if self.notices.shared
                else "this process only"
            ),
        }

    async def on_mail(self, mailbox: str, uidvalidity: int, uid: int, raw: bytes) -> None:
        """IMAP intake callback: store the raw mail, then let the processor decide."""
        await self.on_mail_batch(mailbox, uidvalidity, [(uid, raw)])

    async def on_mail_batch(
        self, mailbox: str, uidvalidity: int, batch: list[tuple[int, bytes]]
    ) -> None:
        """IMAP intake callback for a fetched batch: stored in one transaction."""
        try:
            await asyncio.to_thread(
                self.app.pipeline.store_raw_many,
                Channel.EMAIL,
                f"imap:{mailbox}",
                [(f"{uidvalidity}:{uid}", raw) for uid, raw in batch],
            )
        except Exception as exc:
            # Not stored, so the cursor stays: the intake fetches the batch again when it
            # reconnects (a full disk, a database restarting). Nothing is lost.
            self._fault("storing mail", exc)
            raise
        self._fault("storing mail", None)
        self.wake_inbound()

    async def _process_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake_inbound.clear()
            if INBOUND_LOCK not in self.locks.held:
                # Another instance decides; the heartbeat takes over if it dies.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake_inbound.wait(), timeout=self.poll_seconds)
                continue
            try:
                outcomes = await asyncio.to_thread(self.app.pipeline.process_pending)
            except Exception as exc:
                log.exception("inbound pass failed; retrying")
                self._fault("deciding", exc)
                outcomes = []
            else:
                self._fault("deciding", None)
            if outcomes:
                self.app.outbox.wake()
                self._worked = True
                continue
            if self._worked:
                # A burst is over: hand the pages it freed back to the system (bot/memory.py)
                self._worked = False
                await asyncio.to_thread(give_back)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_inbound.wait(), timeout=self.poll_seconds)

    def _intake_factories(self) -> dict[str, Callable[[], Any]]:
        """A way to build each mailbox's intake, so each starts and stops with its own lock."""
        mailboxes = self.app.settings.email.mailboxes
        if not mailboxes:
            return {}
        from bot.storage.repository import UnitOfWork
        from channels.email.wiring import build_email_intake

        engine = self.app.engine

        class DbCursorStore:
            def load(self, mailbox: str) -> tuple[int | None, int]:
                with UnitOfWork(engine) as uow:
                    return uow.load_cursor(mailbox)

            def save(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
                with UnitOfWork(engine) as uow:
                    uow.save_cursor(mailbox, uidvalidity, last_uid)
                    uow.commit()

        cursors = DbCursorStore()

        def factory(name: str) -> Callable[[], Any]:
            # IMAP or Graph, OAuth token caches and health: channels/email/wiring.py. One
            # mailbox each, so each starts and stops with its own lock.
            return lambda: build_email_intake(
                self.app, cursors, self.on_mail, self.on_mail_batch, self.wake_inbound, name
            )

        return {m.name: factory(m.name) for m in mailboxes}

    def _outbox_retrying(self) -> dict[str, Any]:
        """Rows waiting for another try (a relay down, a provider failing), and why."""
        import sqlalchemy as sa

        from bot.storage import tables as t

        c = t.outbox.c
        waiting = sa.and_(c.status == "pending", c.attempts > 0)
        try:
            with self.app.engine.connect() as conn:
                count = conn.execute(sa.select(sa.func.count()).where(waiting)).scalar_one()
                last = conn.execute(
                    sa.select(c.last_error).where(waiting).order_by(c.id.desc()).limit(1)
                ).scalar()
        except Exception as exc:  # the database itself is away: say so rather than fail
            return {"messages": None, "last_error": f"database: {type(exc).__name__}"}
        from channels.email.redact import redact_text

        return {
            "messages": int(count),
            "last_error": redact_text(str(last))[:200] if last else None,
        }

    # ---- locks: which instance does what -----------------------------------------------

    def _beat(self) -> tuple[frozenset[str], frozenset[str]]:
        """Check the locks held and ask for the free ones (blocking: run in a thread).
        Returns (lost, held)."""
        lost = self.locks.check()
        for name in (INBOUND_LOCK, *(f"mailbox:{m}" for m in self.intake_factories)):
            if self._stopping.is_set():
                break
            self.locks.take(name)
        return lost, self.locks.held

    async def _apply_locks(self) -> None:
        try:
            lost, held = await asyncio.to_thread(self._beat)
        except Exception as exc:
            log.exception("lock heartbeat failed")
            self._fault("locks", exc)
            return
        self._fault("locks", None)
        if self._stopping.is_set():
            return
        for name in sorted(lost):
            log.warning("lost the %s lock; another instance may take it over", name)
        for name, build in self.intake_factories.items():
            task = self._intake_tasks.get(name)
            running = task is not None and not task.done()
            if f"mailbox:{name}" in held and not running:
                log.info("watching mailbox %s", name)
                intake = build()
                if intake is None:
                    continue
                self.intakes[name] = intake
                self._intake_tasks[name] = asyncio.create_task(intake.run(), name=f"imap:{name}")
            elif f"mailbox:{name}" not in held and running:
                # Without the lock another instance may be watching it: stop at once.
                # (Both storing the same mail would be harmless: storage keeps one copy.)
                log.warning("no longer watching mailbox %s", name)
                self.intakes[name].stop()
        if INBOUND_LOCK in held:
            self._wake_inbound.set()  # maybe newly ours: look at what waits

    async def _lock_loop(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.heartbeat_seconds)
            if self._stopping.is_set():
                return
            await self._apply_locks()

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.intake_factories = self._intake_factories()
        self._start_notices()
        await self._apply_locks()  # a lone instance takes everything before it starts
        if self.email_senders:
            senders = self.email_senders

            def wake_email_senders() -> None:
                for sender in senders:
                    sender.wake()

            self.app.outbox.hand_over({Channel.EMAIL}, wake_email_senders)
            for sender in senders:
                self._tasks.append(asyncio.create_task(sender.run(), name=sender.name))
        self._tasks.append(asyncio.create_task(self._process_loop(), name="inbound"))
        self._tasks.append(asyncio.create_task(self.app.outbox.run(), name="outbox"))
        self._tasks.append(asyncio.create_task(self._lock_loop(), name="locks"))
        self.workers = _area_workers(self.app)
        for worker in self.workers:
            self._tasks.append(asyncio.create_task(worker.run(), name=type(worker).__name__))

    async def stop(self, grace_seconds: float = 15.0) -> None:
        """Ask every loop to finish, wait for them, and cancel only what overruns `grace`.

        Cancelling straight away would abandon a pass running in a worker thread
        (`asyncio.to_thread` cannot be interrupted): it would go on holding a database
        connection after the caller has closed the engine, and half-finish its work.
        """
        self._stopping.set()
        self._wake_inbound.set()
        self.app.outbox.stop()
        for sender in self.email_senders:
            sender.stop()
        for intake in self.intakes.values():
            intake.stop()
        for worker in self.workers:
            worker.stop()
        self._tasks.extend(self._intake_tasks.values())
        self._intake_tasks.clear()
        if self._tasks:
            _done, overdue = await asyncio.wait(self._tasks, timeout=grace_seconds)
            for task in overdue:
                log.warning(
                    "%s did not stop within %.0fs; cancelling", task.get_name(), grace_seconds
                )
                task.cancel()
            for task in self._tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._tasks.clear()
        await asyncio.to_thread(self.notices.stop)
        await asyncio.to_thread(self.locks.close)

    def _start_notices(self) -> None:
        """Across instances (PostgreSQL): chat rings reach the instance holding the socket,
        and stored messages wake the instance that decides on them."""
        if not self.notices.shared:
            return
        self.notices.subscribe("inbound", self._wake_inbound_threadsafe)
        chat = self.app.extras.get("webchat")
        hub = getattr(chat, "hub", None)
        if hub is not None:
            notices = self.notices
            hub.relay = lambda session_id: notices.publish("chat", session_id)
            self.notices.subscribe("chat", hub.ring_here)
        self.notices.start()
