"""The SQL implementation of the Interaction repository port (bot.domain.repository).

It works inside the caller's unit of work: what it saves commits with the outbox writes of
the same transaction, or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.domain.events import Event
from bot.domain.interaction import Interaction, PromiseClock
from bot.errors import NotFoundError
from bot.storage import tables as t
from bot.storage.repository import InteractionRow, UnitOfWork
from sla import Clock


def clock_to_row(clock: Clock) -> dict[str, Any]:
    return {
        "policy": clock.policy,
        "started_at": clock.started_at,
        "due_at": clock.due_at,
        "warn_at": clock.warn_at,
        "paused_at": clock.paused_at,
        "paused_seconds": clock.paused_seconds,
        "extended_days": clock.extended_days,
        "extension_reason": clock.extension_reason,
        "stopped_at": clock.stopped_at,
        "outcome": clock.outcome,
        "outcome_reason": clock.outcome_reason,
        "is_open": clock.stopped_at is None,
    }


def clock_from_row(row: Any) -> Clock:
    return Clock(
        policy=row.policy,
        started_at=row.started_at,
        due_at=row.due_at,
        warn_at=row.warn_at,
        paused_at=row.paused_at,
        paused_seconds=row.paused_seconds,
        extended_days=row.extended_days,
        extension_reason=row.extension_reason,
        stopped_at=row.stopped_at,
        outcome=row.outcome,
        outcome_reason=row.outcome_reason,
    )


_i = t.interactions.c
_SELECT = sa.select(
    _i.id,
    _i.reference,
    _i.channel,
    _i.topic,
    _i.urgency,
    _i.team,
    _i.owner,
    _i.status,
    _i.intent,
    _i.subject,
    _i.complaint_stage,
    _i.outcome,
    _i.updated_at,
).where(_i.id == sa.bindparam("b_id"))
_OPEN_CLOCKS = (
    sa.select(t.clocks)
    .where(t.clocks.c.interaction_id == sa.bindparam("b_id"), t.clock_is_open())
    .order_by(t.clocks.c.id)
)
_INSERT_CLOCKS_RETURNING = t.clocks.insert().returning(t.clocks.c.id, sort_by_parameter_order=True)
_UPDATE_CLOCK = t.clocks.update().where(t.clocks.c.id == sa.bindparam("b_clock"))
_SAVED_FIELDS = (
    "status",
    "team",
    "owner",
    "topic",
    "urgency",
    "intent",
    "subject",
    "complaint_stage",
    "outcome",
    "updated_at",
)


class SqlInteractions:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow

    def get(self, interaction_id: int) -> Interaction:
        conn = self.uow.conn
        row = conn.execute(_SELECT, {"b_id": interaction_id}).first()
        if row is None:
            raise NotFoundError("That interaction does not exist.")
        clocks = [
            PromiseClock(r.id, r.promise, clock_from_row(r))
            for r in conn.execute(_OPEN_CLOCKS, {"b_id": interaction_id}).all()
        ]
        return Interaction(
            id=row.id,
            reference=row.reference,
            channel=row.channel,
            topic=row.topic,
            urgency=row.urgency,
            team=row.team,
            owner=row.owner,
            status=row.status,
            intent=row.intent,
            subject=row.subject,
            complaint_stage=row.complaint_stage,
            outcome=row.outcome,
            updated_at=row.updated_at,
            clocks=clocks,
        )

    def opened(self, row: InteractionRow, *, intent: str | None, at: datetime) -> Interaction:
        """The aggregate of an interaction this unit of work has just created (`row`), built
        from what was written rather than read back: a new enquiry's promises are made on
        it at once (bot.service.pipeline)."""
        return Interaction(
            id=row.id,
            reference=row.reference,
            channel=row.channel,
            topic=row.topic,
            urgency=row.urgency,
            team=row.team,
            owner=row.owner,
            status=row.status,
            intent=intent,
            subject=row.subject,
            updated_at=at,
        )

    def save(self, interaction: Interaction) -> list[Event]:
        conn = self.uow.conn
        values = {name: getattr(interaction, name) for name in _SAVED_FIELDS}
        changed = {k: v for k, v in values.items() if k in interaction.changed}
        if changed:
            conn.execute(t.interactions.update().where(_i.id == interaction.id).values(changed))
        fresh = [c for c in interaction.clocks if c.changed and c.id is None]
        if fresh:
            # A new enquiry makes several promises at once: one round trip for all of them.
            rows = [
                {
                    "interaction_id": interaction.id,
                    "promise": tracked.promise,
                    "channel": interaction.channel,
                    "topic": interaction.topic,
                    **clock_to_row(tracked.clock),
                }
                for tracked in fresh
            ]
            ids = conn.execute(_INSERT_CLOCKS_RETURNING, rows).scalars().all()
            for tracked, clock_id in zip(fresh, ids, strict=True):
                tracked.id = int(clock_id)
                tracked.changed = False
        for tracked in interaction.clocks:
            if tracked.changed:
                conn.execute(_UPDATE_CLOCK, {"b_clock": tracked.id, **clock_to_row(tracked.clock)})
                tracked.changed = False
        new = list(interaction.events)
        for event in new:
            self.uow.add_event(interaction.id, event.kind, dict(event.detail()))
        interaction.events.clear()
        interaction.changed.clear()
        return new
