"""The daily retention job inside `doorstep serve` (bot/privacy/retention.py).

Every hour it looks when the policy was last applied (the `retention_applied` event, so a
restart or a second server does not run it again early) and applies it when that was a
day ago or more. Landlords who prefer cron set `privacy.daily_retention: false` and run
`doorstep retention` themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.privacy import retention
from bot.storage import tables as t

log = logging.getLogger(__name__)

DAY = timedelta(days=1)


class RetentionWorker:
    def __init__(self, app: Any, *, poll_seconds: float = 3600.0) -> None:
        self.app = app
        self.poll_seconds = poll_seconds
        self._stop = asyncio.Event()

    def last_applied(self, conn: sa.Connection) -> datetime | None:
        ev = t.events.c
        found = conn.execute(
            sa.select(sa.func.max(ev.created_at)).where(ev.kind == "retention_applied")
        ).scalar_one_or_none()
        if isinstance(found, str):  # SQLite's max() of the stored text
            found = datetime.fromisoformat(found)
        if found is not None and found.tzinfo is None:
            found = found.replace(tzinfo=UTC)
        return found

    def run_once(self) -> retention.RetentionPlan | None:
        """Apply the policy if it was not applied in the last day; what was done, or None."""
        now = self.app.now()
        with self.app.engine.begin() as conn:
            last = self.last_applied(conn)
            if last is not None and now - last < DAY:
                return None
            done = retention.apply(conn, self.app.settings.privacy.retention, now)
        log.info("retention applied: %s", "; ".join(done.lines()))
        return done

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:
                log.exception("retention pass failed; trying again later")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.poll_seconds)

    def stop(self) -> None:
        self._stop.set()


def build_worker(app: Any) -> RetentionWorker | None:
    if not app.settings.privacy.daily_retention:
        return None
    return RetentionWorker(app)
