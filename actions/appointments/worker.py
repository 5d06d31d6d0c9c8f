"""The appointment worker: sends due reminders and follows up failed texts (opt-out
holds, the email fall-back), every `sms.reminder_poll_seconds`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from actions.appointments.booking import AppointmentService

if TYPE_CHECKING:
    from bot.bootstrap import App

log = logging.getLogger(__name__)


class AppointmentWorker:
    """Sends due reminders and follows up failed texts (opt-out holds, email fall-back)."""

    def __init__(self, app: App, *, poll_seconds: float | None = None) -> None:
        self.app = app
        self.service = AppointmentService.from_app(app)
        self.poll_seconds = poll_seconds or app.settings.sms.reminder_poll_seconds
        self._stop = asyncio.Event()

    def run_once(self) -> dict[str, int]:
        from channels.sms.delivery import follow_up_failures

        reminders = self.service.send_due_reminders()
        failures = follow_up_failures(self.app.engine, self.app.settings, self.app.now())
        if reminders or failures:
            self.app.outbox.wake()
        return {"reminders": reminders, "failures": failures}

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:
                log.exception("appointment worker pass failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.poll_seconds)

    def stop(self) -> None:
        self._stop.set()


def build_worker(app: App) -> AppointmentWorker:
    return AppointmentWorker(app)
