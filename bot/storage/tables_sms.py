"""SMS and appointment tables (channels/sms, actions/appointments).

APPT: every appointment's texts and its reminder state live here, not in memory, so a
restart neither loses nor repeats a reminder: the worker claims a due reminder by moving
`reminder_status` from "pending" to "sent" in the same transaction as it writes the text
to the outbox.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.storage.tables import UtcDateTime, metadata

appointments = sa.Table(
    "appointments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("job_ref", sa.String(60), nullable=False, unique=True),
    sa.Column("contact_id", sa.ForeignKey("contacts.id"), nullable=False, index=True),
    sa.Column("resident_name", sa.String(200)),
    sa.Column("phone", sa.String(20), nullable=False, index=True),  # E.164
    sa.Column("email", sa.String(320)),
    sa.Column("address", sa.String(500), nullable=False),
    sa.Column("trade", sa.String(100), nullable=False),
    sa.Column("slot_date", sa.Date, nullable=False),
    sa.Column("slot", sa.String(20), nullable=False),  # am, pm, all-day or HH:MM-HH:MM
    sa.Column("slot_start", UtcDateTime, nullable=False),
    sa.Column("slot_end", UtcDateTime, nullable=False),
    # scheduled, change_requested, cancelled (by us), cancelled_by_resident, completed
    sa.Column("status", sa.String(30), nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=1),  # bumped by each change
    sa.Column("confirmed_at", UtcDateTime),
    sa.Column("cancel_reason", sa.Text),
    sa.Column("preferred_date", sa.Date),  # a date the resident asked for instead
    # What a one-word answer from the resident would be about: confirm, after_job or None.
    sa.Column("awaiting", sa.String(20)),
    sa.Column("last_texted_at", UtcDateTime),
    sa.Column("reminder_due_at", UtcDateTime, nullable=False),
    sa.Column("reminder_status", sa.String(20), nullable=False),  # pending, sent, skipped
    sa.Column("reminder_sent_at", UtcDateTime),
    sa.Column("completed_at", UtcDateTime),
    sa.Column("satisfaction", sa.String(20)),  # AFTER-JOB: happy / unhappy
    sa.Column("interaction_id", sa.ForeignKey("interactions.id"), index=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Index("ix_appointments_reminder", "reminder_status", "reminder_due_at"),
    sa.Index("ix_appointments_phone_last_texted_at", "phone", "last_texted_at"),
)

# Failed texts already followed up (opt-out hold, e-mail fall-back), so each failure is
# handled once however often the worker looks.
sms_failures = sa.Table(
    "sms_failures",
    metadata,
    sa.Column("outbox_id", sa.ForeignKey("outbox.id"), primary_key=True),
    sa.Column("error", sa.Text),
    sa.Column("action", sa.String(40), nullable=False),  # emailed, no_email, held, ...
    sa.Column("handled_at", UtcDateTime, nullable=False),
)
