"""Appointments in the database: every SQL statement of the feature (tables_sms.appointments,
and the outbox rows of its texts). Callers pass the connection of their unit of work."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from actions.appointments.model import (
    ACTIVE,
    Appointment,
    AppointmentNotFound,
    Context,
    hhmm,
    slot_window,
)
from bot.storage import tables as t
from bot.storage.tables_sms import appointments

# How each channel names the address the resident wrote from (contact_identities.kind).
_IDENTITY_KIND = {"sms": "phone", "email": "email", "webchat": "webchat", "social": "social"}


def load(conn: sa.Connection, job_ref: str, *, lock: bool = False) -> Appointment:
    query = sa.select(appointments).where(appointments.c.job_ref == job_ref)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise AppointmentNotFound(f"no appointment with job reference {job_ref}")
    return Appointment.from_row(row)


def find(conn: sa.Connection, job_ref: str) -> Appointment | None:
    row = conn.execute(sa.select(appointments).where(appointments.c.job_ref == job_ref)).first()
    return None if row is None else Appointment.from_row(row)


def insert(conn: sa.Connection, **values: Any) -> int:
    key = conn.execute(appointments.insert().values(**values)).inserted_primary_key
    assert key is not None  # an insert of one row always has its key
    return int(key[0])


def update(conn: sa.Connection, appt_id: int, **values: Any) -> None:
    conn.execute(appointments.update().where(appointments.c.id == appt_id).values(**values))


def listed(conn: sa.Connection, *, since: date | None, limit: int) -> list[Appointment]:
    query = sa.select(appointments).order_by(appointments.c.slot_start, appointments.c.id)
    if since is not None:
        query = query.where(appointments.c.slot_date >= since)
    return [Appointment.from_row(r) for r in conn.execute(query.limit(limit)).all()]


def texts_of(conn: sa.Connection, job_ref: str) -> list[dict[str, Any]]:
    """The texts (and emails) sent about one job, oldest first, with their delivery state."""
    o = t.outbox.c
    rows = conn.execute(
        sa.select(o.kind, o.channel, o.status, o.provider_status, o.created_at, o.sent_at)
        .where(o.meta["job_ref"].as_string() == job_ref)
        .order_by(o.id)
    ).all()
    return [
        {
            "kind": r.kind,
            "channel": r.channel,
            "status": r.status,
            "delivery": r.provider_status,
            "created_at": r.created_at.isoformat(),
            "sent_at": r.sent_at.isoformat() if r.sent_at else None,
        }
        for r in rows
    ]


def slot_times(ctx: Context, slot_date: date, slot: str) -> tuple[datetime, datetime, datetime]:
    """(slot start, slot end, reminder due) as aware datetimes, from local wall-clock times."""
    zone = ctx.zone
    start, end = slot_window(ctx.settings, slot)
    reminder = hhmm(ctx.settings.sms.reminder_time)
    return (
        datetime.combine(slot_date, start, tzinfo=zone),
        datetime.combine(slot_date, end, tzinfo=zone),
        datetime.combine(slot_date - timedelta(days=1), reminder, tzinfo=zone),
    )


def link_email(conn: sa.Connection, contact_id: int, email: str | None) -> None:
    """Record the resident's email as another identity of the same contact (the fall-back
    when a text fails), unless that address already belongs to someone."""
    if not email:
        return
    ci = t.contact_identities.c
    taken = conn.execute(sa.select(ci.id).where(ci.kind == "email", ci.value == email)).first()
    if taken is None:
        conn.execute(
            t.contact_identities.insert().values(contact_id=contact_id, kind="email", value=email)
        )


# ---- reminders -------------------------------------------------------------------------


def due_reminders(conn: sa.Connection, now: datetime, limit: int) -> list[str]:
    """Job references whose reminder is pending and due, soonest first."""
    a = appointments.c
    rows = conn.execute(
        sa.select(a.job_ref)
        .where(a.reminder_status == "pending", a.reminder_due_at <= now)
        .order_by(a.reminder_due_at, a.id)
        .limit(limit)
    ).all()
    return [str(r.job_ref) for r in rows]


def claim_reminder(conn: sa.Connection, appt_id: int, outcome: str, now: datetime) -> bool:
    """Move the reminder from pending to `outcome` (sent or skipped); False when another
    transaction already did (then it is theirs to send)."""
    a = appointments.c
    claimed = conn.execute(
        appointments.update()
        .where(a.id == appt_id, a.reminder_status == "pending")
        .values(
            reminder_status=outcome,
            reminder_sent_at=now if outcome == "sent" else None,
            updated_at=now,
        )
    )
    return claimed.rowcount == 1


# ---- whose appointment -----------------------------------------------------------------


def pending_for(
    conn: sa.Connection, phone: str, now: datetime, window_days: int
) -> Appointment | None:
    """The appointment a text from this number most likely answers: the one we texted most
    recently, still ahead of us (or just completed and asked about), within the window."""
    a = appointments.c
    row = conn.execute(
        sa.select(appointments)
        .where(
            a.phone == phone,
            a.last_texted_at >= now - timedelta(days=window_days),
            sa.or_(
                sa.and_(a.status.in_(ACTIVE), a.slot_end > now),
                sa.and_(a.status == "completed", a.awaiting == "after_job"),
            ),
        )
        .order_by(a.last_texted_at.desc(), a.id.desc())
        .limit(1)
    ).first()
    return None if row is None else Appointment.from_row(row)


def _contact_of(conn: sa.Connection, channel: str, address: str) -> int | None:
    kind = _IDENTITY_KIND.get(channel)
    if kind is None or not address:
        return None
    ci = t.contact_identities.c
    found = conn.execute(
        sa.select(ci.contact_id).where(ci.kind == kind, ci.value == address.strip())
    ).scalar_one_or_none()
    return None if found is None else int(found)


def theirs(conn: sa.Connection, channel: str, address: str) -> sa.ColumnElement[bool]:
    """PRIVACY: only appointments of the contact this address belongs to (and, on SMS, of
    this very number)."""
    a = appointments.c
    contact = _contact_of(conn, channel, address)
    mine = [a.contact_id == contact] if contact is not None else []
    if channel == "sms":
        mine.append(a.phone == address.strip())
    return sa.or_(*mine) if mine else sa.false()


def ahead_for(conn: sa.Connection, channel: str, address: str, now: datetime) -> list[Appointment]:
    """The resident's appointments still ahead, soonest first (at most 10)."""
    a = appointments.c
    rows = conn.execute(
        sa.select(appointments)
        .where(theirs(conn, channel, address), a.status.in_(ACTIVE), a.slot_end > now)
        .order_by(a.slot_start)
        .limit(10)
    ).all()
    return [Appointment.from_row(r) for r in rows]


def theirs_ahead(
    conn: sa.Connection, job_ref: str, channel: str, address: str, now: datetime
) -> bool:
    a = appointments.c
    mine = conn.execute(
        sa.select(a.id).where(
            a.job_ref == job_ref,
            theirs(conn, channel, address),
            a.status.in_(ACTIVE),
            a.slot_end > now,
        )
    ).first()
    return mine is not None
