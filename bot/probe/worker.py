"""The probe schedule inside `doorstep serve` (`probe.every_minutes`), like the retention
job: it looks when the last probe started (the `probes` table, so a restart or a second
server does not probe again early) and probes every configured channel when it is time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from bot.probe.health import aware
from bot.probe.runner import ProbeResult, ProbeRunner
from bot.probe.shoppers import shoppers_for
from bot.storage import tables_probe as tp

log = logging.getLogger(__name__)


class ProbeWorker:
    def __init__(self, app: Any, *, poll_seconds: float = 60.0) -> None:
        self.app = app
        self.poll_seconds = poll_seconds
        self.every = timedelta(minutes=app.settings.probe.every_minutes)
        self._stop = asyncio.Event()

    def due(self) -> bool:
        with self.app.engine.connect() as conn:
            last = aware(
                conn.execute(sa.select(sa.func.max(tp.probes.c.started_at))).scalar_one_or_none()
            )
        return last is None or self.app.now() - last >= self.every

    async def run_once(self) -> list[ProbeResult] | None:
        if not await asyncio.to_thread(self.due):
            return None
        runner = ProbeRunner(
            self.app.settings, self.app.engine, shoppers_for(self.app.settings), now=self.app.now
        )
        return await runner.run()

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("probe run failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.poll_seconds)

    def stop(self) -> None:
        self._stop.set()


def build_worker(app: Any) -> ProbeWorker | None:
    probe = app.settings.probe
    if not probe.every_minutes or not probe.secret or not probe.channels:
        return None
    return ProbeWorker(app)
