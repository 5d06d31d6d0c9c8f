"""The day-before reminder (APPT: "a text when a job is scheduled and a reminder the day
before", target 100%).

Each reminder is claimed in the database (`reminder_status` pending -> sent, or skipped, in
the transaction that writes the text), so it survives restarts and two workers never both
send it; never for a cancelled appointment or one already started.
"""

from __future__ import annotations

import sqlalchemy as sa

from actions.appointments import store
from actions.appointments.model import Context
from actions.appointments.texts import is_urgent, send_text
from bot.storage.repository import UnitOfWork


def send_due_reminders(engine: sa.Engine, ctx: Context, limit: int = 200) -> int:
    """Send every reminder that is due now, each exactly once. Returns how many went."""
    now = ctx.now()
    with engine.connect() as conn:
        due = store.due_reminders(conn, now, limit)
    sent = 0
    for job_ref in due:
        with UnitOfWork(engine, ctx.now) as uow:
            appt = store.load(uow.conn, job_ref, lock=True)
            if appt.reminder_status != "pending":
                continue
            # Claim it: only the transaction that moves pending -> sent writes the text.
            if appt.status != "scheduled":
                outcome = "skipped"
            elif appt.slot_start <= now:
                outcome = "skipped"  # the visit has started or passed: too late to remind
            else:
                outcome = "sent"
            if not store.claim_reminder(uow.conn, appt.id, outcome, now):
                continue
            if outcome == "sent":
                send_text(
                    uow,
                    ctx,
                    appt,
                    "appointment_reminder.txt.j2",
                    f"appt:{appt.job_ref}:reminder:{appt.slot_date.isoformat()}:{appt.slot}",
                    now,
                    kind="appointment_reminder",
                    urgent=is_urgent(ctx, appt, now),
                )
                store.update(uow.conn, appt.id, awaiting="confirm")
                sent += 1
            uow.commit()
    return sent
