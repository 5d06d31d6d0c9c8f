"""SLA clocks: the rules the aggregate starts and resumes them by, reads of stored clocks,
the one indexed query for "what is due soon or breached now", and `keep_on_send` (the
outbox's acknowledgement sent stops its clock as met, through the aggregate).

Only the `Interaction` aggregate changes a clock (tests/unit/core/test_clock_changes.py)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.domain.interaction import Interaction
from bot.errors import NotFoundError
from bot.storage import tables as t
from bot.storage.interactions import SqlInteractions, clock_from_row
from bot.storage.repository import UnitOfWork
from sla import Calendar, Clock, ClockState, Policy
from sla.due_soon import DUE_SOON, attention_state, due_soon_until


@dataclass(frozen=True, slots=True)
class StoredClock:
    id: int
    interaction_id: int
    channel: str | None
    topic: str | None
    clock: Clock


def _from_row(row: Any) -> StoredClock:
    return StoredClock(row.id, row.interaction_id, row.channel, row.topic, clock_from_row(row))


# Built once (see bot.storage.repository): every enquiry reads its clocks.
_OPEN_CLOCKS = (
    sa.select(t.clocks)
    .where(t.clocks.c.interaction_id == sa.bindparam("b_interaction"), t.clock_is_open())
    .order_by(t.clocks.c.id)
)
_OPEN_CLOCKS_OF = _OPEN_CLOCKS.where(
    t.clocks.c.policy.in_(sa.bindparam("b_policies", expanding=True))
)


class ClockService:
    """The rules for clocks (policies and the working-day calendar: `ClockRules` for the
    aggregate), deadlines, and reads of stored clocks.

    It changes no clock itself: the `Interaction` aggregate does (bot.domain.interaction),
    so every change records an event. `start`, `stop`, `pause` and `resume` are
    kept for callers not yet moved onto the aggregate: each loads the interaction, changes
    it through an aggregate method and saves it. New code calls the aggregate directly
    (tests/unit/core/test_clock_changes.py lists who may still call these)."""

    def __init__(self, policies: dict[str, Policy], calendar: Calendar) -> None:
        self.policies = policies
        self.calendar = calendar

    def policy(self, name: str) -> Policy:
        return self.policies[name]

    def deadline(self, name: str, received_at: datetime) -> datetime:
        return self.policies[name].deadline(received_at, self.calendar)

    # ---- "due soon", the one rule (sla/due_soon.py) ----------------------------------------

    def soon_until(self, now: datetime, fraction: float) -> dict[str, datetime]:
        """Per policy, the latest deadline that is due soon at `now`."""
        return {
            name: due_soon_until(policy, now, fraction, self.calendar)
            for name, policy in self.policies.items()
        }

    def attention_state(
        self,
        policy: str,
        *,
        due_at: datetime,
        warn_at: datetime | None,
        now: datetime,
        fraction: float,
    ) -> str | None:
        """ "breached", "due_soon" or None for a running clock (sla.due_soon.attention_state)."""
        return attention_state(
            self.policies.get(policy),
            due_at=due_at,
            warn_at=warn_at,
            now=now,
            fraction=fraction,
            calendar=self.calendar,
        )

    def state(self, clock: Clock, now: datetime, fraction: float) -> ClockState:
        """A stored clock's state with "due soon" under the one rule, whatever warning time
        it was stored with (a clock started before the rule keeps its old one)."""
        stored = clock.state(now)
        if stored not in (ClockState.RUNNING, ClockState.DUE_SOON):
            return stored
        soon = self.attention_state(
            clock.policy, due_at=clock.due_at, warn_at=clock.warn_at, now=now, fraction=fraction
        )
        return ClockState.DUE_SOON if soon == DUE_SOON else ClockState.RUNNING

    # ---- reads ---------------------------------------------------------------------------

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

    # ---- changes, through the aggregate (for callers not moved yet) ------------------------

    def start(
        self,
        conn: sa.Connection,
        *,
        interaction_id: int,
        policy: str,
        at: datetime,
        channel: str | None = None,
        topic: str | None = None,
    ) -> Clock:
        """`channel` and `topic` are the interaction's own (the aggregate stores them)."""
        del channel, topic
        with _aggregate(conn, interaction_id, at) as interaction:
            return interaction.make_promises(self, (policy,), by="assistant", reason=policy, at=at)[
                0
            ]

    def stop(
        self, conn: sa.Connection, interaction_id: int, policies: tuple[str, ...], at: datetime
    ) -> list[str]:
        with _aggregate(conn, interaction_id, at) as interaction:
            return list(interaction.keep_promises(policies, by="assistant", reason="kept", at=at))

    def pause(self, conn: sa.Connection, interaction_id: int, at: datetime) -> int:
        """Waiting on the resident: every running clock of the interaction stops ticking."""
        with _aggregate(conn, interaction_id, at) as interaction:
            return interaction.pause(by="assistant", at=at)

    def resume(self, conn: sa.Connection, interaction_id: int, at: datetime) -> int:
        with _aggregate(conn, interaction_id, at) as interaction:
            return interaction.resident_answered(self, at=at)


class _Joined(UnitOfWork):
    """A unit of work over a transaction that is already open (the outbox's, a legacy
    caller's): the caller commits it, so this one never connects, commits or closes."""

    def __init__(self, conn: sa.Connection, at: datetime) -> None:
        super().__init__(conn.engine, lambda: at)
        self.conn = conn


@contextmanager
def _aggregate(conn: sa.Connection, interaction_id: int, at: datetime) -> Iterator[Interaction]:
    interactions = SqlInteractions(_Joined(conn, at))
    interaction = interactions.get(interaction_id)
    yield interaction
    interactions.save(interaction)


def keep_on_send(
    conn: sa.Connection, *, interaction_id: int, policy: str, kind: str, at: datetime
) -> dict[str, str]:
    """The outbox sent a message that was for a promise (`meta.clock`): the send is what
    keeps it (EMAIL-NOW, ACK-2, the complaint procedure at once), so that clock ends met,
    or breached when late, through the aggregate, in the outbox's own transaction.

    A message whose interaction is gone (erased under PRIVACY) keeps nothing."""
    interactions = SqlInteractions(_Joined(conn, at))
    try:
        interaction = interactions.get(interaction_id)
    except NotFoundError:
        return {}
    what = kind.replace("_", " ")
    ended = interaction.keep_promises((policy,), by="assistant", reason=f"{what} sent", at=at)
    if ended:
        interactions.save(interaction)
    return ended


def needs_attention(now: datetime, soon_until: Mapping[str, datetime]) -> sa.ColumnElement[bool]:
    """SQL for "open, running, and due soon or breached at `now`" under the one rule: past
    its due time, or due by its policy's `soon_until` limit. A clock whose policy is no
    longer configured falls back to its stored warning time (sla.due_soon.attention_state).

    Every such clock's stored warning time is at most its due time, and its due time at most
    the latest limit, so `warn_at <= latest` keeps the scan on the partial warn_at index of
    open clocks (a clock stored under the old rule warned earlier, never later)."""
    c = t.clocks.c
    latest = max([now, *soon_until.values()])
    rule = [c.due_at < now]
    rule += [sa.and_(c.policy == name, c.due_at <= limit) for name, limit in soon_until.items()]
    rule.append(sa.and_(c.policy.not_in(list(soon_until)), c.warn_at <= now))
    return sa.and_(
        t.clock_is_open(),
        c.paused_at.is_(None),
        c.warn_at <= latest,
        sa.or_(*rule),
    )


def attention_needed(
    conn: sa.Connection,
    now: datetime,
    limit: int = 1000,
    *,
    clocks: ClockService | None = None,
    fraction: float | None = None,
) -> list[StoredClock]:
    """Open, running clocks that are due soon or breached at `now`, soonest due first.

    With `clocks` and `fraction` (sla.due_soon_fraction) under the one rule; without them
    (old callers, the benchmark) by each clock's stored warning time."""
    c = t.clocks.c
    if clocks is not None and fraction is not None:
        where = needs_attention(now, clocks.soon_until(now, fraction))
    else:
        where = sa.and_(t.clock_is_open(), c.warn_at <= now, c.paused_at.is_(None))
    rows = conn.execute(
        sa.select(t.clocks).where(where).order_by(c.due_at, c.id).limit(limit)
    ).all()
    return [_from_row(r) for r in rows]


def count_attention_needed(
    conn: sa.Connection,
    now: datetime,
    *,
    clocks: ClockService | None = None,
    fraction: float | None = None,
) -> dict[str, int]:
    c = t.clocks.c
    if clocks is not None and fraction is not None:
        where = needs_attention(now, clocks.soon_until(now, fraction))
    else:
        where = sa.and_(t.clock_is_open(), c.warn_at <= now, c.paused_at.is_(None))
    base = sa.select(sa.func.count()).where(where)
    breached = conn.execute(base.where(c.due_at < now)).scalar_one()
    total = conn.execute(base).scalar_one()
    return {"breached": int(breached), "due_soon": int(total) - int(breached)}
