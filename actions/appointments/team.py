"""An answer that needs a person goes to the appointments team, with the promise of when
they will be in touch (HANDOFF, AFTER-JOB). Clocks change only through the Interaction
aggregate, which records what changed."""

from __future__ import annotations

from datetime import datetime

from actions.appointments import store
from actions.appointments.model import AFTER_JOB_POLICY, HANDOFF_POLICIES, Appointment, Context
from actions.wording import deadline_in_words
from bot.domain.interaction import Settlement
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork
from sla.clock import SUPERSEDED


def route_to_team(
    uow: UnitOfWork, ctx: Context, interaction_id: int, appt: Appointment, now: datetime
) -> None:
    interactions = SqlInteractions(uow)
    interaction = interactions.get(interaction_id)
    interaction.assign(
        team=ctx.team,
        topic="repair",
        clear_owner=True,
        subject=f"Appointment {appt.job_ref}",
        at=now,
    )
    interactions.save(interaction)
    store.update(uow.conn, appt.id, interaction_id=interaction_id)


def handoff_deadline(
    uow: UnitOfWork, ctx: Context, interaction_id: int | None, now: datetime
) -> str:
    """When the team will be in touch: the interaction's own hand-off clock (HANDOFF),
    started now when it has none."""
    if interaction_id is None:
        return deadline_in_words(ctx.clocks.deadline("handoff-3", now), now=now)
    interactions = SqlInteractions(uow)
    interaction = interactions.get(interaction_id)
    for tracked in interaction.open_clocks(HANDOFF_POLICIES):
        return deadline_in_words(tracked.clock.due_at, now=now)
    (clock,) = interaction.make_promises(
        ctx.clocks,
        ("handoff-3",),
        by="assistant",
        reason="the resident asked to change or cancel an appointment",
        at=now,
    )
    interactions.save(interaction)
    return deadline_in_words(clock.due_at, now=now)


def call_after_the_job(
    uow: UnitOfWork, ctx: Context, interaction_id: int, now: datetime
) -> datetime:
    """AFTER-JOB: not happy with completed work, so the team contacts the resident within 2
    working days; that promise takes over from any hand-off clock, which ends superseded
    (nobody answered it: counting it as met would report a promise nobody kept). Returns
    when the team must have been in touch."""
    interactions = SqlInteractions(uow)
    interaction = interactions.get(interaction_id)
    for tracked in interaction.open_clocks(HANDOFF_POLICIES):
        interaction.settle(
            tracked.policy,
            Settlement(SUPERSEDED, f"superseded by the after-job call ({AFTER_JOB_POLICY})"),
            now,
        )
    (clock,) = interaction.make_promises(
        ctx.clocks,
        (AFTER_JOB_POLICY,),
        by="assistant",
        reason="not happy with the work",
        at=now,
    )
    interactions.save(interaction)
    return clock.due_at
