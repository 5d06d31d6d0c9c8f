"""The resident's answer to one of our appointment texts, acted on (APPT, AFTER-JOB).

YES confirms (and closes the interaction the pipeline opened for the text), "happy" after
the job closes it too; a cancellation is done (flagged to the team when less than one
working day ahead), and a change, "can't make it", NO or a date goes to the appointments
team, who contact the resident by the hand-off deadline; "not happy" after the job starts
the `after-job-2` clock. Each answer is a `Reply` the SMS keyword step returns; the one
caller (bot.conversation.turns.TurnRunner) sends it through the outbox.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from actions.appointments import store
from actions.appointments.model import Context
from actions.appointments.notice import flag_late, note, working_day_notice
from actions.appointments.parsing import parse_reply
from actions.appointments.team import call_after_the_job, handoff_deadline, route_to_team
from actions.appointments.texts import reply_to_resident
from actions.wording import date_in_words, deadline_in_words, team_in_words
from bot.storage.repository import UnitOfWork, idempotency_key
from channels.sms.conversation import close_interaction

if TYPE_CHECKING:
    from bot.conversation.engine import Reply
    from bot.service.pipeline import Turn


def handle_reply(turn: Turn) -> list[Reply] | None:
    """The SMS keywords' appointment step: the answer (possibly none, when it cannot be
    sent) to a text that answers one of our appointment texts; None when it is not one."""
    pipeline = turn.pipeline
    uow: UnitOfWork = turn.uow
    msg = turn.message
    ctx = Context(pipeline.settings, pipeline.composer, pipeline.clocks, pipeline.now)
    now = ctx.now()
    appt = store.pending_for(uow.conn, msg.sender, now, ctx.settings.sms.reply_window_days)
    if appt is None:
        return None
    today = now.astimezone(ctx.zone).date()
    reply = parse_reply(msg.body, today, awaiting=appt.awaiting)
    if reply is None:
        return None
    interaction_id: int | None = turn.outcome.interaction_id
    new = turn.acknowledgement is not None
    key = idempotency_key("appt-reply", msg.external_id)
    detail: dict[str, Any] = {
        "job_ref": appt.job_ref,
        "reply": reply.kind,
        "inbound": msg.external_id,
    }
    if reply.day is not None:
        detail["date"] = reply.day.isoformat()
    if interaction_id is not None:
        uow.add_event(interaction_id, "appointment_reply", detail)
    common: dict[str, Any] = {"interaction_id": interaction_id, "acknowledges": new}

    if reply.kind == "confirm":
        store.update(uow.conn, appt.id, confirmed_at=now, awaiting=None, updated_at=now)
        answer = reply_to_resident(
            uow,
            ctx,
            appt,
            "appointment_reply_confirmed.txt.j2",
            key,
            now,
            kind="appointment_reply",
            **common,
        )
        if new:
            close_interaction(uow, ctx.clocks, interaction_id, now, "appointment confirmed")
        return answer

    if reply.kind == "happy":
        store.update(uow.conn, appt.id, satisfaction="happy", awaiting=None, updated_at=now)
        answer = reply_to_resident(
            uow,
            ctx,
            appt,
            "appointment_reply_happy.txt.j2",
            key,
            now,
            kind="after_job_reply",
            **common,
        )
        if new:
            close_interaction(uow, ctx.clocks, interaction_id, now, "happy with the work")
        return answer

    # Everything else needs a person: the interaction goes to the appointments team.
    if interaction_id is not None:
        route_to_team(uow, ctx, interaction_id, appt, now)

    if reply.kind == "unhappy":
        # AFTER-JOB: contact within 2 working days if not happy with completed work.
        store.update(uow.conn, appt.id, satisfaction="unhappy", awaiting=None, updated_at=now)
        deadline = now + timedelta(days=2)
        if interaction_id is not None:
            deadline = call_after_the_job(uow, ctx, interaction_id, now)
            uow.add_event(interaction_id, "after_job_unhappy", {"job_ref": appt.job_ref})
        answer = reply_to_resident(
            uow,
            ctx,
            appt,
            "appointment_reply_unhappy.txt.j2",
            key,
            now,
            kind="after_job_reply",
            team=team_in_words(ctx.settings.team(ctx.team).name),
            deadline=deadline_in_words(deadline, now=now),
            reference=reference_of(uow, interaction_id),
            **common,
        )
        return answer

    late = not working_day_notice(ctx.clocks, now, appt.slot_date, ctx.zone)
    contact_by = handoff_deadline(uow, ctx, interaction_id, now)
    team_name = team_in_words(ctx.settings.team(ctx.team).name)
    if reply.kind == "cancel":
        store.update(
            uow.conn,
            appt.id,
            status="cancelled_by_resident",
            awaiting=None,
            cancel_reason="resident replied to cancel",
            version=appt.version + 1,
            updated_at=now,
        )
        if late:
            flag_late(uow, interaction_id, appt, "cancelled", now)
        elif new:
            close_interaction(uow, ctx.clocks, interaction_id, now, "appointment cancelled")
        answer = reply_to_resident(
            uow,
            ctx,
            appt,
            "appointment_reply_cancelled.txt.j2",
            key,
            now,
            kind="appointment_reply",
            **common,
        )
        return answer

    # change, can't make it, NO, or a date: the team contacts the resident to rearrange.
    store.update(
        uow.conn,
        appt.id,
        status="change_requested",
        awaiting=None,
        preferred_date=reply.day,
        updated_at=now,
    )
    if late:
        flag_late(uow, interaction_id, appt, "asked to change", now)
    elif interaction_id is not None:
        note(
            uow,
            interaction_id,
            f"Resident asked to rearrange job {appt.job_ref}"
            + (f"; suggested {date_in_words(reply.day, today=today)}." if reply.day else "."),
        )
    return reply_to_resident(
        uow,
        ctx,
        appt,
        "appointment_reply_change.txt.j2",
        key,
        now,
        kind="appointment_reply",
        team=team_name,
        deadline=contact_by,
        preferred=date_in_words(reply.day, today=today) if reply.day else None,
        reference=reference_of(uow, interaction_id),
        **common,
    )


def reference_of(uow: UnitOfWork, interaction_id: int | None) -> str | None:
    return None if interaction_id is None else uow.get_interaction(interaction_id).reference
