"""The long-running workers of `doorstep serve`: mail intake, inbound processing, outbox.

Intake only stores (store first, decide later); the processor and the outbox worker are
woken as soon as there is work, and poll as a safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from bot.bootstrap import App, build_workers
from bot.domain.model import Channel
from bot.sending import SendingProcess

log = logging.getLogger(__name__)


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
        self.intake: Any = None
        self.workers: list[Any] = []

    def wake_inbound(self) -> None:
        self._wake_inbound.set()

    async def on_mail(self, mailbox: str, uidvalidity: int, uid: int, raw: bytes) -> None:
        """IMAP intake callback: store the raw mail, then let the processor decide."""
        await self.on_mail_batch(mailbox, uidvalidity, [(uid, raw)])

    async def on_mail_batch(
        self, mailbox: str, uidvalidity: int, batch: list[tuple[int, bytes]]
    ) -> None:
        """IMAP intake callback for a fetched batch: stored in one transaction."""
        await asyncio.to_thread(
            self.app.pipeline.store_raw_many,
            Channel.EMAIL,
            f"imap:{mailbox}",
            [(f"{uidvalidity}:{uid}", raw) for uid, raw in batch],
        )
        self.wake_inbound()

    async def _process_loop(self) -> None:
        while not self._stopping.is_set():
            self._wake_inbound.clear()
            try:
                outcomes = await asyncio.to_thread(self.app.pipeline.process_pending)
            except Exception:
                log.exception("inbound pass failed; retrying")
                outcomes = []
            if outcomes:
                self.app.outbox.wake()
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_inbound.wait(), timeout=self.poll_seconds)

    def _build_intake(self) -> Any:
        mailboxes = self.app.settings.email.mailboxes
        if not mailboxes:
            return None
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

        # IMAP and Graph mailboxes, OAuth token caches and health: channels/email/wiring.py.
        return build_email_intake(
            self.app, DbCursorStore(), self.on_mail, self.on_mail_batch, self.wake_inbound
        )

    async def start(self) -> None:
        self.intake = self._build_intake()
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
        if self.intake is not None:
            self._tasks.append(asyncio.create_task(self.intake.run(), name="imap"))
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
        if self.intake is not None:
            self.intake.stop()
        for worker in self.workers:
            worker.stop()
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
