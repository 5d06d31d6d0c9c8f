"""Each channel's health as the probes saw it (the dashboard, its banner, /api/status).

A channel is *silent* when no probe has passed for `probe.silent_minutes` (an expired
mailbox password, a Twilio number that stopped forwarding), *slow* when the last probe was
answered later than `probe.slow_seconds`, *failing* when the last probe failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.settings import Settings
from bot.storage import tables_probe as tp

CHANNEL_NAMES = {"email": "Email", "webchat": "Web chat", "sms": "Text messages"}


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    channel: str
    state: str  # ok, slow, failing, silent, never
    last_at: datetime | None
    last_status: str | None
    seconds: float | None
    reason: str | None
    last_passed_at: datetime | None

    @property
    def name(self) -> str:
        return CHANNEL_NAMES.get(self.channel, self.channel)

    @property
    def warning(self) -> str | None:
        """What staff are told in the banner, or None when all is well."""
        if self.state == "silent":
            since = "never" if self.last_passed_at is None else "not recently"
            return f"no test message has been answered ({since}): {self.reason or 'no answer'}"
        if self.state == "failing":
            return f"the last test message failed: {self.reason}"
        if self.state == "slow":
            return f"answers are slow: {self.reason}"
        return None

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "state": self.state,
            "last_probe_at": self.last_at.isoformat() if self.last_at else None,
            "last_status": self.last_status,
            "seconds": self.seconds,
            "reason": self.reason,
            "last_passed_at": self.last_passed_at.isoformat() if self.last_passed_at else None,
        }


def channel_health(conn: sa.Connection, settings: Settings, now: datetime) -> list[ChannelHealth]:
    """The configured channels' health, then any other channel probed before."""
    p = tp.probes.c
    finished = p.status != "running"
    seen = [str(c) for (c,) in conn.execute(sa.select(p.channel).distinct()).all()]
    channels = list(settings.probe.channels) + sorted(set(seen) - set(settings.probe.channels))
    silent_after = timedelta(minutes=settings.probe.silent_after_minutes)
    found: list[ChannelHealth] = []
    for channel in channels:
        last = conn.execute(
            sa.select(p.started_at, p.status, p.seconds, p.reason)
            .where(p.channel == channel, finished)
            .order_by(p.started_at.desc(), p.id.desc())
            .limit(1)
        ).first()
        passed_at = conn.execute(
            sa.select(sa.func.max(p.started_at)).where(
                p.channel == channel, p.status.in_(("passed", "slow"))
            )
        ).scalar_one_or_none()
        passed_at = aware(passed_at)
        if last is None:
            found.append(ChannelHealth(channel, "never", None, None, None, None, None))
            continue
        last_at = aware(last.started_at)
        if passed_at is None or now - passed_at > silent_after:
            state = "silent"
        elif last.status == "failed":
            state = "failing"
        elif last.status == "slow":
            state = "slow"
        else:
            state = "ok"
        found.append(
            ChannelHealth(
                channel, state, last_at, last.status, last.seconds, last.reason, passed_at
            )
        )
    return found


def recent_probes(conn: sa.Connection, limit: int = 30) -> list[Any]:
    p = tp.probes.c
    return list(
        conn.execute(
            sa.select(p.channel, p.started_at, p.status, p.seconds, p.reason, p.reference)
            .order_by(p.started_at.desc(), p.id.desc())
            .limit(limit)
        ).all()
    )


def aware(value: Any) -> datetime | None:
    """SQLite's max() returns the stored text; every stored time is UTC."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, datetime)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
