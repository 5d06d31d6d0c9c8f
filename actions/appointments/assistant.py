"""APPT through the assistant (Rasa's actions call /api/assistant/appointments*): the
resident's coming appointments, and a request to cancel or change one.

Only the resident's own appointments are seen or changed (PRIVACY): the sender's address
on the channel must belong to the contact the appointment is for. A cancellation with at
least one working day's notice is done at once; a late one is done too but flagged to the
team; a change goes to the team, who contact the resident by the hand-off deadline.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from actions.appointments import store
from actions.appointments.model import Context
from actions.appointments.notice import flag_late, working_day_notice
from actions.appointments.team import handoff_deadline
from actions.appointments.texts import slot_in_words
from bot.errors import InvalidError, NotFoundError
from bot.storage.repository import UnitOfWork


@dataclass(frozen=True, slots=True)
class Upcoming:
    job_reference: str
    trade: str
    when: str  # in words, as the resident reads it
    status: str

    def as_dict(self) -> dict[str, str]:
        return {
            "job_reference": self.job_reference,
            "trade": self.trade,
            "when": self.when,
            "status": self.status,
        }


def upcoming_for(engine: sa.Engine, ctx: Context, *, channel: str, address: str) -> list[Upcoming]:
    """The resident's appointments still ahead, soonest first."""
    now = ctx.now()
    today = now.astimezone(ctx.zone).date()
    with engine.connect() as conn:
        found = store.ahead_for(conn, channel, address, now)
    return [
        Upcoming(
            job_reference=x.job_ref,
            trade=x.trade,
            when=slot_in_words(ctx.settings, x.slot_date, x.slot, today),
            status=x.status,
        )
        for x in found
    ]


def resident_request(
    engine: sa.Engine,
    ctx: Context,
    *,
    job_reference: str,
    action: str,
    preferred: str | None,
    channel: str,
    address: str,
) -> str:
    """Cancel or ask to change one of the resident's appointments; returns what to tell
    them (appointment_assistant_*.txt.j2). NotFoundError when it is not theirs or not
    ahead; InvalidError for another action."""
    if action not in ("cancel", "change"):
        raise InvalidError("An appointment can be cancelled or changed.")
    now = ctx.now()
    today = now.astimezone(ctx.zone).date()
    with UnitOfWork(engine, ctx.now) as uow:
        if not store.theirs_ahead(uow.conn, job_reference, channel, address, now):
            raise NotFoundError("We could not find that appointment for you.")
        appt = store.load(uow.conn, job_reference, lock=True)
        when = slot_in_words(ctx.settings, appt.slot_date, appt.slot, today)
        late = not working_day_notice(ctx.clocks, now, appt.slot_date, ctx.zone)
        if action == "cancel":
            store.update(
                uow.conn,
                appt.id,
                status="cancelled_by_resident",
                awaiting=None,
                cancel_reason="resident asked the assistant to cancel",
                version=appt.version + 1,
                updated_at=now,
            )
            if late:
                flag_late(uow, appt.interaction_id, appt, "cancelled", now)
            uow.add_event(
                appt.interaction_id,
                "appointment_cancelled",
                {"job_ref": appt.job_ref, "by": "resident"},
            )
            message = ctx.composer.render(
                "appointment_assistant_cancelled.txt.j2",
                channel=channel,
                trade=appt.trade.lower(),
                when=when,
            )
        else:
            preferred_text = (preferred or "").strip()[:300]
            store.update(
                uow.conn,
                appt.id,
                status="change_requested",
                awaiting=None,
                version=appt.version + 1,
                updated_at=now,
            )
            if late:
                flag_late(uow, appt.interaction_id, appt, "asked to change", now)
            deadline = handoff_deadline(uow, ctx, appt.interaction_id, now)
            uow.add_event(
                appt.interaction_id,
                "appointment_change_requested",
                {"job_ref": appt.job_ref, "preferred": preferred_text},
            )
            message = ctx.composer.render(
                "appointment_assistant_change.txt.j2",
                channel=channel,
                team=ctx.settings.team(ctx.team).name,
                when=when,
                deadline=deadline,
            )
        uow.commit()
    # The assistant says it in the conversation: one line, no trailing newline.
    return message.strip()
