"""SLA clocks through storage: start, stop, pause and resume stored clocks, and the one
indexed query for "what is due soon or breached now"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.storage import tables as t
from bot.storage.interactions import clock_from_row, clock_to_row
from sla import Calendar, Clock, Policy


@dataclass(frozen=True, slots=True)
class StoredClock:
    id: int
    interaction_id: int
    channel: str | None
    topic: str | None
    clock: Clock


def _from_row(row: Any) -> StoredClock:
    return StoredClock(row.id, row.interaction_id, row.channel, row.topic, clock_from_row(row))


# Built once (see bot.storage.repository): every enquiry starts and stops clocks.
_INSERT_CLOCK = t.clocks.insert()
_UPDATE_CLOCK = t.clocks.update().where(t.clocks.c.id == sa.bindparam("b_id"))
_OPEN_CLOCKS = (
    sa.select(t.clocks)
    .where(t.clocks.c.interaction_id == sa.bindparam("b_interaction"), t.clock_is_open())
    .order_by(t.clocks.c.id)
)
_OPEN_CLOCKS_OF = _OPEN_CLOCKS.where(
    t.clocks.c.policy.in_(sa.bindparam("b_policies", expanding=True))
)


class ClockService:
    def __init__(self, policies: dict[str, Policy], calendar: Calendar) -> None:
        self.policies = policies
        self.calendar = calendar

    def policy(self, name: str) -> Policy:
        return self.policies[name]

    def deadline(self, name: str, received_at: datetime) -> datetime:
        return self.policies[name].deadline(received_at, self.calendar)

    def start(
        self,
        conn: sa.Connection,
        *,
        interaction_id: int,
        policy: str,
        at: datetime,
        channel: str | None,
        topic: str | None,
    ) -> Clock:
        return self.start_all(
            conn, interaction_id=interaction_id, policies=(policy,), at=at, channel=channel,
            topic=topic,
        )[0]  # fmt: skip

    def start_all(
        self,
        conn: sa.Connection,
        *,
        interaction_id: int,
        policies: tuple[str, ...],
        at: datetime,
        channel: str | None,
        topic: str | None,
    ) -> list[Clock]:
        """Start a clock for each policy, in one round trip (a new enquiry starts several)."""
        clocks: list[Clock] = []
        rows: list[dict[str, Any]] = []
        for name in policies:
            chosen = self.policies[name]
            clock = Clock.start(chosen, at, self.calendar)
            clocks.append(clock)
            rows.append(
                {
                    "interaction_id": interaction_id,
                    "promise": chosen.promise,
                    "channel": channel,
                    "topic": topic,
                    **clock_to_row(clock),
                }
            )
        if rows:
            conn.execute(_INSERT_CLOCK, rows)
        return clocks

    def open_clocks(
        self, conn: sa.Connection, interaction_id: int, policies: tuple[str, ...] | None = None
    ) -> list[StoredClock]:
        if policies is None:
            rows = conn.execute(_OPEN_CLOCKS, {"b_interaction": interaction_id})
        else:
            params = {"b_interaction": interaction_id, "b_policies": list(policies)}
            rows = conn.execute(_OPEN_CLOCKS_OF, params)
        return [_from_row(r) for r in rows.all()]

    def clocks_for(self, conn: sa.Connection, interaction_id: int) -> list[StoredClock]:
        c = t.clocks.c
        rows = conn.execute(
            sa.select(t.clocks).where(c.interaction_id == interaction_id).order_by(c.id)
        ).all()
        return [_from_row(r) for r in rows]

    def _save(self, conn: sa.Connection, stored: StoredClock, clock: Clock) -> None:
        conn.execute(_UPDATE_CLOCK, {"b_id": stored.id, **clock_to_row(clock)})

    def stop(
        self, conn: sa.Connection, interaction_id: int, policies: tuple[str, ...], at: datetime
    ) -> list[Clock]:
        stopped = []
        for stored in self.open_clocks(conn, interaction_id, policies):
            clock = stored.clock.stop(at)
            self._save(conn, stored, clock)
            stopped.append(clock)
        return stopped

    def pause(self, conn: sa.Connection, interaction_id: int, at: datetime) -> int:
        """Waiting on the resident: every running clock of the interaction stops ticking."""
        count = 0
        for stored in self.open_clocks(conn, interaction_id):
            if stored.clock.paused_at is None:
                self._save(conn, stored, stored.clock.pause(at))
                count += 1
        return count

    def resume(self, conn: sa.Connection, interaction_id: int, at: datetime) -> int:
        count = 0
        for stored in self.open_clocks(conn, interaction_id):
            if stored.clock.paused_at is not None:
                policy = self.policies[stored.clock.policy]
                self._save(conn, stored, stored.clock.resume(at, policy, self.calendar))
                count += 1
        return count

    def extend(
        self,
        conn: sa.Connection,
        interaction_id: int,
        policy: str,
        days: int,
        reason: str,
    ) -> Clock | None:
        for stored in self.open_clocks(conn, interaction_id, (policy,)):
            clock = stored.clock.extend(days, reason, self.policies[policy], self.calendar)
            self._save(conn, stored, clock)
            return clock
        return None


def attention_needed(conn: sa.Connection, now: datetime, limit: int = 1000) -> list[StoredClock]:
    """Open, running clocks that are due soon or breached at `now`: one range scan of the
    partial index on warn_at (paused clocks are filtered from that small range)."""
    c = t.clocks.c
    rows = conn.execute(
        sa.select(t.clocks)
        .where(t.clock_is_open(), c.warn_at <= now, c.paused_at.is_(None))
        .order_by(c.warn_at)
        .limit(limit)
    ).all()
    return [_from_row(r) for r in rows]


def count_attention_needed(conn: sa.Connection, now: datetime) -> dict[str, int]:
    c = t.clocks.c
    base = sa.select(sa.func.count()).where(
        t.clock_is_open(), c.warn_at <= now, c.paused_at.is_(None)
    )
    breached = conn.execute(base.where(c.due_at < now)).scalar_one()
    total = conn.execute(base).scalar_one()
    return {"breached": int(breached), "due_soon": int(total) - int(breached)}
