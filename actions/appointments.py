"""Repair appointments and the texts residents can answer (APPT, AFTER-JOB).

APPT (seed 004, target 100%): a text when a job is scheduled and a reminder the day before;
when we cannot make it, we contact the resident and rearrange; a resident may cancel, at
least one working day ahead. AFTER-JOB: we ask whether the resident is happy with the work
and contact them within 2 working days if not.

- Every text goes through the outbox in the same transaction as the change it reports, with
  an idempotency key naming that change (`appt:JOB:scheduled`, `appt:JOB:moved:3`, ...), so
  each is sent exactly once however often the repairs system repeats a call.
- The day-before reminder is claimed in the database (`reminder_status` pending -> sent in
  the transaction that writes the text), so it survives restarts and two workers never both
  send it; never for a cancelled appointment or one already started.
- Texts that are not urgent wait out quiet hours in the outbox (`not_before`).
- Replies ("cancel my appointment", "change", "can't make it", a date, YES / NO, and after the
  job "were you happy?") are understood in plain words by `parse_reply`, answered, and put on
  the interaction the pipeline opened for the text. A late cancellation (less than one
  working day ahead) is allowed but flagged to the team; an unhappy answer after the job
  keeps the interaction open with the `after-job-2` clock, routed to the team.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from actions.acknowledge import Composer
from actions.wording import date_in_words, deadline_in_words, team_in_words
from bot.domain.greeting import greeting_name
from bot.domain.model import Channel, OutboundMessage
from bot.settings import Settings
from bot.storage import tables as t
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork, idempotency_key
from bot.storage.tables_sms import appointments
from channels.sms import gsm
from channels.sms.conversation import close_interaction, enqueue_text
from channels.sms.optout import is_opted_out
from channels.sms.phone import PhoneError
from channels.sms.phone import normalise as normalise_phone

if TYPE_CHECKING:
    from bot.service.clocks import ClockService

log = logging.getLogger(__name__)

ACTIVE = ("scheduled", "change_requested")
HANDOFF_POLICIES = ("handoff-3", "handoff-urgent-1")
AFTER_JOB_POLICY = "after-job-2"
FIELDS = ("job_ref", "resident_name", "phone", "email", "address", "date", "slot", "trade")
_JOB_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.\-]{0,59}$")
_WINDOW = re.compile(r"^(\d{1,2})(?::?(\d{2}))?\s*-\s*(\d{1,2})(?::?(\d{2}))?$")


# ---- errors ------------------------------------------------------------------------------


class AppointmentError(ValueError):
    """Something the caller asked for cannot be done; the message says why, plainly."""


class AppointmentNotFound(AppointmentError):
    pass


class AppointmentConflict(AppointmentError):
    pass


class InvalidAppointment(AppointmentError):
    """Bad input: one (field, message) per problem."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))


# ---- values ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppointmentInput:
    job_ref: str
    phone: str
    address: str
    date: date
    slot: str
    trade: str
    resident_name: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Appointment:
    id: int
    job_ref: str
    contact_id: int
    resident_name: str | None
    phone: str
    email: str | None
    address: str
    trade: str
    slot_date: date
    slot: str
    slot_start: datetime
    slot_end: datetime
    status: str
    version: int
    confirmed_at: datetime | None
    cancel_reason: str | None
    preferred_date: date | None
    awaiting: str | None
    last_texted_at: datetime | None
    reminder_due_at: datetime
    reminder_status: str
    reminder_sent_at: datetime | None
    completed_at: datetime | None
    satisfaction: str | None
    interaction_id: int | None

    @classmethod
    def from_row(cls, row: Any) -> Appointment:
        return cls(**{name: getattr(row, name) for name in cls.__slots__})

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__slots__:
            value = getattr(self, name)
            out[name] = value.isoformat() if isinstance(value, date | datetime) else value
        return out


@dataclass(frozen=True, slots=True)
class Context:
    """What the appointment actions need; the App and the pipeline both have it."""

    settings: Settings
    composer: Composer
    clocks: ClockService
    now: Callable[[], datetime]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.sms.timezone)

    @property
    def team(self) -> str:
        configured = self.settings.sms.appointments_team
        return configured or self.settings.routing.get("repair", self.settings.default_team)


# ---- input -------------------------------------------------------------------------------


def _hhmm(text: str) -> time:
    hours, _, minutes = text.partition(":")
    return time(int(hours), int(minutes or 0))


def normalise_slot(text: str) -> str:
    """'AM' -> 'am', 'all day' -> 'all-day', '10-12' -> '10:00-12:00'."""
    low = text.strip().lower().replace("–", "-").replace(" to ", "-")
    if low in ("am", "morning", "a.m."):
        return "am"
    if low in ("pm", "afternoon", "p.m."):
        return "pm"
    if low.replace(" ", "-") in ("all-day", "allday", "day"):
        return "all-day"
    match = _WINDOW.match(low.replace(" ", ""))
    if match is None:
        raise ValueError("use am, pm, all day, or a time window like 10:00-12:00")
    h1, m1, h2, m2 = (int(g) if g else 0 for g in match.groups())
    if not (h1 < 24 and h2 < 24 and m1 < 60 and m2 < 60) or (h1, m1) >= (h2, m2):
        raise ValueError("the time window must start before it ends, e.g. 10:00-12:00")
    return f"{h1:02d}:{m1:02d}-{h2:02d}:{m2:02d}"


def slot_window(settings: Settings, slot: str) -> tuple[time, time]:
    window = {
        "am": settings.sms.am_slot,
        "pm": settings.sms.pm_slot,
        "all-day": settings.sms.all_day_slot,
    }.get(slot, slot)
    start, _, end = window.partition("-")
    return _hhmm(start), _hhmm(end)


def _time_words(moment: time) -> str:
    if moment == time(12, 0):
        return "midday"
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour}{suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d}{suffix}"


def slot_in_words(settings: Settings, slot_date: date, slot: str, today: date) -> str:
    """'Tuesday 1 December, in the morning (8am to 1pm)'."""
    start, end = slot_window(settings, slot)
    span = f"{_time_words(start)} to {_time_words(end)}"
    day = date_in_words(slot_date, today=today)
    if slot == "am":
        return f"{day}, in the morning ({span})"
    if slot == "pm":
        return f"{day}, in the afternoon ({span})"
    return f"{day}, between {_time_words(start)} and {_time_words(end)}"


def _parse_date(text: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        with contextlib.suppress(ValueError):
            return datetime.strptime(text, fmt).date()
    raise ValueError("use a date like 2026-12-01 or 01/12/2026")


def validate_input(
    values: Mapping[str, object | None], *, today: date | None = None, partial: bool = False
) -> dict[str, Any]:
    """Check and normalise appointment fields (API and CSV alike). Raises InvalidAppointment
    listing every problem; with `partial`, only the fields given are checked."""
    errors: list[tuple[str, str]] = []
    out: dict[str, Any] = {}
    unknown = sorted(set(values) - set(FIELDS))
    for name in unknown:
        errors.append((name, f"unknown field; accepted: {', '.join(FIELDS)}"))

    def text(name: str) -> str | None:
        raw = values.get(name)
        if raw is None:
            return None
        return str(raw).strip() or None

    required = ("job_ref", "phone", "address", "date", "slot", "trade")
    for name in FIELDS:
        if partial and name not in values:
            continue
        value = text(name)
        if value is None:
            if name in required:
                errors.append((name, "is required"))
            else:
                out[name] = None
            continue
        try:
            if name == "job_ref":
                if not _JOB_REF.match(value):
                    raise ValueError("letters, digits and - / _ . only, at most 60 characters")
                out[name] = value
            elif name == "phone":
                out[name] = normalise_phone(value)
            elif name == "email":
                if "@" not in value or " " in value or len(value) > 320:
                    raise ValueError("not an email address")
                out[name] = value.lower()
            elif name == "date":
                day = _parse_date(value)
                if today is not None and day < today:
                    raise ValueError(f"{day.isoformat()} is in the past")
                out[name] = day
            elif name == "slot":
                out[name] = normalise_slot(value)
            elif name in ("address", "trade", "resident_name"):
                limit = {"address": 500, "trade": 100, "resident_name": 200}[name]
                if len(value) > limit:
                    raise ValueError(f"at most {limit} characters")
                out[name] = value
        except (ValueError, PhoneError) as exc:
            errors.append((name, str(exc)))
    if errors:
        raise InvalidAppointment(errors)
    return out


# ---- storage helpers ---------------------------------------------------------------------


def _load(conn: sa.Connection, job_ref: str, *, lock: bool = False) -> Appointment:
    query = sa.select(appointments).where(appointments.c.job_ref == job_ref)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise AppointmentNotFound(f"no appointment with job reference {job_ref}")
    return Appointment.from_row(row)


def _update(conn: sa.Connection, appt_id: int, **values: Any) -> None:
    conn.execute(appointments.update().where(appointments.c.id == appt_id).values(**values))


def _times(ctx: Context, slot_date: date, slot: str) -> tuple[datetime, datetime, datetime]:
    """(slot start, slot end, reminder due) as aware datetimes, from local wall-clock times."""
    zone = ctx.zone
    start, end = slot_window(ctx.settings, slot)
    reminder = _hhmm(ctx.settings.sms.reminder_time)
    return (
        datetime.combine(slot_date, start, tzinfo=zone),
        datetime.combine(slot_date, end, tzinfo=zone),
        datetime.combine(slot_date - timedelta(days=1), reminder, tzinfo=zone),
    )


def _link_email(conn: sa.Connection, contact_id: int, email: str | None) -> None:
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


# ---- texts -------------------------------------------------------------------------------


def _values(ctx: Context, appt: Appointment, now: datetime, **extra: object) -> dict[str, Any]:
    today = now.astimezone(ctx.zone).date()
    return {
        "first_name": greeting_name(appt.resident_name),
        "job_ref": appt.job_ref,
        "trade": appt.trade.lower(),
        "address": appt.address,
        "when": slot_in_words(ctx.settings, appt.slot_date, appt.slot, today),
        **extra,
    }


def _urgent(ctx: Context, appt: Appointment, now: datetime) -> bool:
    """A change to a visit due before quiet hours end would arrive too late if held."""
    from channels.sms.quiet import quiet_until

    until = quiet_until(now, ctx.settings.sms)
    return until is not None and appt.slot_start <= until + timedelta(hours=2)


def send_text(
    uow: UnitOfWork,
    ctx: Context,
    appt: Appointment,
    template: str,
    key: str,
    now: datetime,
    *,
    kind: str,
    urgent: bool = False,
    reply: bool = False,
    clock: str | None = None,
    interaction_id: int | None = None,
    **extra: object,
) -> None:
    """One appointment text, through the outbox; by email instead when the number opted out
    and we have an address (the resident still needs to know: APPT)."""
    body = ctx.composer.render(template, channel="sms", **_values(ctx, appt, now, **extra))
    subject = f"Your {appt.trade.lower()} appointment ({appt.job_ref})"
    meta = {"job_ref": appt.job_ref, "subject": subject}
    if clock:
        meta["clock"] = clock
    target = interaction_id if interaction_id is not None else appt.interaction_id
    if is_opted_out(uow, appt.phone, now):
        if appt.email and ctx.settings.sms.fallback_to_email:
            uow.enqueue(
                OutboundMessage(
                    channel=Channel.EMAIL,
                    recipient=appt.email,
                    body=gsm.normalise(body),
                    subject=subject,
                    sender=ctx.settings.email.from_address,
                    idempotency_key=idempotency_key(key, "email"),
                    interaction_id=target,
                    kind=kind,
                    meta=meta,
                )
            )
        uow.add_event(
            target,
            "appointment_text_not_sent",
            {
                "job_ref": appt.job_ref,
                "kind": kind,
                "reason": "number opted out of texts",
                "emailed": bool(appt.email),
            },
        )
        return
    enqueue_text(
        uow,
        ctx.settings,
        OutboundMessage(
            channel=Channel.SMS,
            recipient=appt.phone,
            body=body,
            idempotency_key=key,
            sender=ctx.settings.sms.from_number,
            interaction_id=target,
            kind=kind,
            meta=meta,
        ),
        now,
        urgent=urgent,
        reply=reply,
    )
    _update(uow.conn, appt.id, last_texted_at=now)


# ---- the service (API, CLI) --------------------------------------------------------------


class AppointmentService:
    """Schedule, move, cancel and complete appointments; each change texts the resident."""

    def __init__(self, engine: sa.Engine, ctx: Context) -> None:
        self.engine = engine
        self.ctx = ctx

    @classmethod
    def from_app(cls, app: Any) -> AppointmentService:
        return cls(app.engine, Context(app.settings, app.composer, app.clocks, app.now))

    def get(self, job_ref: str) -> Appointment:
        with self.engine.connect() as conn:
            return _load(conn, job_ref)

    def find(self, *, since: date | None = None, limit: int = 500) -> list[Appointment]:
        query = sa.select(appointments).order_by(appointments.c.slot_start, appointments.c.id)
        if since is not None:
            query = query.where(appointments.c.slot_date >= since)
        with self.engine.connect() as conn:
            return [Appointment.from_row(r) for r in conn.execute(query.limit(limit)).all()]

    def texts(self, appt: Appointment) -> list[dict[str, Any]]:
        o = t.outbox.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(o.kind, o.channel, o.status, o.provider_status, o.created_at, o.sent_at)
                .where(o.meta["job_ref"].as_string() == appt.job_ref)
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

    def schedule(self, data: Mapping[str, object | None]) -> tuple[Appointment, bool]:
        """Create an appointment and text the resident. Returns (appointment, created).

        Posting the same appointment again is harmless (a retry); posting a different one
        under a job reference we already have is a conflict (use update)."""
        now = self.ctx.now()
        fields = validate_input(data, today=now.astimezone(self.ctx.zone).date())
        with UnitOfWork(self.engine, self.ctx.now) as uow:
            existing = uow.conn.execute(
                sa.select(appointments).where(appointments.c.job_ref == fields["job_ref"])
            ).first()
            if existing is not None:
                appt = Appointment.from_row(existing)
                same = (
                    appt.phone == fields["phone"]
                    and appt.slot_date == fields["date"]
                    and appt.slot == fields["slot"]
                    and appt.address == fields["address"]
                    and appt.trade == fields["trade"]
                )
                if not same:
                    raise AppointmentConflict(
                        f"job {appt.job_ref} already has an appointment; "
                        "use PUT /api/appointments/{job_ref} to change it"
                    )
                return appt, False
            start, end, reminder = _times(self.ctx, fields["date"], fields["slot"])
            contact_id = uow.contact_for("phone", fields["phone"], fields.get("resident_name"))
            _link_email(uow.conn, contact_id, fields.get("email"))
            # Scheduled after the reminder time the day before: the scheduling text is the
            # reminder (it gives the day and time), so no second text follows minutes later.
            reminder_status = "pending" if reminder > now else "skipped"
            new_id = uow.conn.execute(
                appointments.insert().values(
                    job_ref=fields["job_ref"],
                    contact_id=contact_id,
                    resident_name=fields.get("resident_name"),
                    phone=fields["phone"],
                    email=fields.get("email"),
                    address=fields["address"],
                    trade=fields["trade"],
                    slot_date=fields["date"],
                    slot=fields["slot"],
                    slot_start=start,
                    slot_end=end,
                    status="scheduled",
                    version=1,
                    awaiting="confirm",
                    reminder_due_at=reminder,
                    reminder_status=reminder_status,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
            appt = _load(uow.conn, fields["job_ref"])
            send_text(
                uow,
                self.ctx,
                appt,
                "appointment_scheduled.txt.j2",
                f"appt:{appt.job_ref}:scheduled",
                now,
                kind="appointment_scheduled",
                urgent=_urgent(self.ctx, appt, now),
            )
            uow.add_event(None, "appointment_scheduled", {"job_ref": appt.job_ref, "id": new_id})
            uow.commit()
            return _load(uow.conn, appt.job_ref), True

    def update(self, job_ref: str, data: Mapping[str, object | None]) -> Appointment:
        """Change an appointment. A new day or slot texts the resident (APPT: moved)."""
        now = self.ctx.now()
        if "job_ref" in data and data["job_ref"] not in (None, job_ref):
            raise InvalidAppointment([("job_ref", "cannot be changed")])
        fields = validate_input(
            {k: v for k, v in data.items() if k != "job_ref"},
            today=now.astimezone(self.ctx.zone).date(),
            partial=True,
        )
        with UnitOfWork(self.engine, self.ctx.now) as uow:
            appt = _load(uow.conn, job_ref, lock=True)
            if appt.status not in ACTIVE:
                raise AppointmentConflict(f"job {job_ref} is {appt.status.replace('_', ' ')}")
            changes: dict[str, Any] = {}
            for name, column in (
                ("resident_name", "resident_name"),
                ("phone", "phone"),
                ("email", "email"),
                ("address", "address"),
                ("trade", "trade"),
                ("date", "slot_date"),
                ("slot", "slot"),
            ):
                if name in fields and fields[name] != getattr(appt, column):
                    if name in ("phone", "address", "trade", "date", "slot") and not fields[name]:
                        continue
                    changes[column] = fields[name]
            if not changes:
                return appt
            moved = "slot_date" in changes or "slot" in changes
            version = appt.version + 1
            values: dict[str, Any] = {**changes, "version": version, "updated_at": now}
            if "phone" in changes:
                values["contact_id"] = uow.contact_for(
                    "phone", changes["phone"], changes.get("resident_name", appt.resident_name)
                )
            _link_email(uow.conn, values.get("contact_id", appt.contact_id), changes.get("email"))
            if moved:
                start, end, reminder = _times(
                    self.ctx,
                    changes.get("slot_date", appt.slot_date),
                    changes.get("slot", appt.slot),
                )
                values.update(
                    slot_start=start,
                    slot_end=end,
                    reminder_due_at=reminder,
                    reminder_status="pending" if reminder > now else "skipped",
                    reminder_sent_at=None,
                    status="scheduled",
                    confirmed_at=None,
                    preferred_date=None,
                    awaiting="confirm",
                )
            _update(uow.conn, appt.id, **values)
            updated = _load(uow.conn, job_ref)
            if moved:
                send_text(
                    uow,
                    self.ctx,
                    updated,
                    "appointment_moved.txt.j2",
                    f"appt:{job_ref}:moved:{version}",
                    now,
                    kind="appointment_moved",
                    urgent=_urgent(self.ctx, appt, now) or _urgent(self.ctx, updated, now),
                    old_when=slot_in_words(
                        self.ctx.settings,
                        appt.slot_date,
                        appt.slot,
                        now.astimezone(self.ctx.zone).date(),
                    ),
                )
            uow.add_event(
                updated.interaction_id,
                "appointment_moved" if moved else "appointment_updated",
                {"job_ref": job_ref, "fields": sorted(changes), "version": version},
            )
            uow.commit()
            return _load(uow.conn, job_ref)

    def cancel(self, job_ref: str, reason: str | None = None) -> Appointment:
        """We cancel (APPT: when we can't make it, we tell the resident and rearrange)."""
        now = self.ctx.now()
        reason = (reason or "").strip()[:300] or None
        with UnitOfWork(self.engine, self.ctx.now) as uow:
            appt = _load(uow.conn, job_ref, lock=True)
            if appt.status in ("cancelled", "cancelled_by_resident"):
                return appt
            if appt.status == "completed":
                raise AppointmentConflict(f"job {job_ref} is already completed")
            version = appt.version + 1
            _update(
                uow.conn,
                appt.id,
                status="cancelled",
                cancel_reason=reason,
                version=version,
                awaiting=None,
                updated_at=now,
            )
            if appt.slot_end > now:
                send_text(
                    uow,
                    self.ctx,
                    appt,
                    "appointment_cancelled.txt.j2",
                    f"appt:{job_ref}:cancelled:{version}",
                    now,
                    kind="appointment_cancelled",
                    urgent=_urgent(self.ctx, appt, now),
                    reason=reason,
                )
            uow.add_event(appt.interaction_id, "appointment_cancelled", {"job_ref": job_ref})
            uow.commit()
            return _load(uow.conn, job_ref)

    def complete(self, job_ref: str) -> Appointment:
        """The job is done: ask whether the resident is happy with it (AFTER-JOB)."""
        now = self.ctx.now()
        with UnitOfWork(self.engine, self.ctx.now) as uow:
            appt = _load(uow.conn, job_ref, lock=True)
            if appt.status == "completed":
                return appt
            if appt.status in ("cancelled", "cancelled_by_resident"):
                raise AppointmentConflict(f"job {job_ref} was cancelled")
            _update(
                uow.conn,
                appt.id,
                status="completed",
                completed_at=now,
                awaiting="after_job",
                reminder_status="skipped"
                if appt.reminder_status == "pending"
                else appt.reminder_status,
                updated_at=now,
            )
            send_text(
                uow,
                self.ctx,
                appt,
                "appointment_after_job.txt.j2",
                f"appt:{job_ref}:after-job",
                now,
                kind="after_job",
            )
            uow.add_event(appt.interaction_id, "appointment_completed", {"job_ref": job_ref})
            uow.commit()
            return _load(uow.conn, job_ref)

    # ---- reminders --------------------------------------------------------------------

    def send_due_reminders(self, limit: int = 200) -> int:
        """Send every reminder that is due now, each exactly once. Returns how many went."""
        now = self.ctx.now()
        a = appointments.c
        with self.engine.connect() as conn:
            due = conn.execute(
                sa.select(a.id, a.job_ref)
                .where(a.reminder_status == "pending", a.reminder_due_at <= now)
                .order_by(a.reminder_due_at, a.id)
                .limit(limit)
            ).all()
        sent = 0
        for row in due:
            with UnitOfWork(self.engine, self.ctx.now) as uow:
                appt = _load(uow.conn, row.job_ref, lock=True)
                if appt.reminder_status != "pending":
                    continue
                # Claim it: only the transaction that moves pending -> sent writes the text.
                if appt.status != "scheduled":
                    outcome = "skipped"
                elif appt.slot_start <= now:
                    outcome = "skipped"  # the visit has started or passed: too late to remind
                else:
                    outcome = "sent"
                claimed = uow.conn.execute(
                    appointments.update()
                    .where(a.id == appt.id, a.reminder_status == "pending")
                    .values(
                        reminder_status=outcome,
                        reminder_sent_at=now if outcome == "sent" else None,
                        updated_at=now,
                    )
                )
                if claimed.rowcount != 1:
                    continue
                if outcome == "sent":
                    send_text(
                        uow,
                        self.ctx,
                        appt,
                        "appointment_reminder.txt.j2",
                        f"appt:{appt.job_ref}:reminder:{appt.slot_date.isoformat()}:{appt.slot}",
                        now,
                        kind="appointment_reminder",
                        urgent=_urgent(self.ctx, appt, now),
                    )
                    _update(uow.conn, appt.id, awaiting="confirm")
                    sent += 1
                uow.commit()
        return sent


# ---- replies -----------------------------------------------------------------------------

_WEEKDAYS = {
    "mon": 0,
    "monday": 0,
    "tue": 1,
    "tues": 1,
    "tuesday": 1,
    "wed": 2,
    "weds": 2,
    "wednesday": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "thursday": 3,
    "fri": 4,
    "friday": 4,
    "sat": 5,
    "saturday": 5,
    "sun": 6,
    "sunday": 6,
}
_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_YES = {"yes", "y", "yeah", "yep", "yup", "ok", "okay", "confirm", "confirmed", "fine", "sure"}
_NO = {"no", "n", "nope", "nah"}
_CANT = re.compile(
    r"\b(can'?t|cannot|can not|won'?t|will not|unable to|not able to)\b.{0,20}"
    r"\b(make|do|be (in|home|there|around)|come|attend)\b"
    r"|\bnot (going to|gonna) be (in|home|there)\b|\bwon'?t be (in|home|there)\b"
)
_CHANGE = re.compile(
    r"\b(change|rearrange|re-arrange|reschedule|re-schedule|another (day|date|time)|"
    r"different (day|date|time)|move (it|the|my))\b"
)
_CANCEL = re.compile(r"\bcancel(l?ed|l?ing|lation)?\b|\bdon'?t need\b|\bno longer need\b")
_UNHAPPY = re.compile(
    r"\b(not|unhappy|still|poor|bad|awful|terrible|rubbish|broken|leak(s|ing)?|worse|"
    r"didn'?t|did not|hasn'?t|has not|isn'?t|wasn'?t|never|complain|mess|dirty)\b|n't\b"
)
_HAPPY = re.compile(
    r"\b(yes|happy|great|good|fine|lovely|brilliant|excellent|perfect|thanks?|thank you|"
    r"sorted|fixed|pleased|satisfied|ok|okay|very)\b"
)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2,4}))?\b")
_WORD_DATE = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([a-z]{3,9})\b|\b([a-z]{3,9})\s+(\d{1,2})(?:st|nd|rd|th)?\b"
)


@dataclass(frozen=True, slots=True)
class Reply:
    kind: str  # confirm, cancel, change, happy, unhappy
    day: date | None = None  # a date the resident offered


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("’", "'")).strip()


def find_date(text: str, today: date) -> date | None:
    """The first date in a reply ('Tuesday', 'tomorrow', '3/12', '3rd December'), never in
    the past: a weekday means the next one after today."""
    low = _words(text)
    if re.search(r"\btomorrow\b", low):
        return today + timedelta(days=1)
    match = _NUMERIC_DATE.search(low)
    if match is not None:
        day, month, year = match.groups()
        with contextlib.suppress(ValueError):
            found = date(_year(year, today), int(month), int(day))
            return found if year or found >= today else found.replace(year=found.year + 1)
    for match in _WORD_DATE.finditer(low):
        if match.group(1):
            day_s, month_s = match.group(1), match.group(2)
        else:
            day_s, month_s = match.group(4), match.group(3)
        month = _MONTHS.get(month_s[:3])
        if month is None:
            continue
        with contextlib.suppress(ValueError):
            found = date(today.year, month, int(day_s))
            return found if found >= today else found.replace(year=today.year + 1)
    for word in re.findall(r"[a-z]+", low):
        if word in _WEEKDAYS:
            ahead = (_WEEKDAYS[word] - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead)
    return None


def _year(text: str | None, today: date) -> int:
    if not text:
        return today.year
    value = int(text)
    return value + 2000 if value < 100 else value


def parse_reply(text: str, today: date, *, awaiting: str | None) -> Reply | None:
    """What an answer to one of our appointment texts means, in plain words; None when it is
    not about the appointment (then it is an ordinary message and gets acknowledged)."""
    low = _words(text)
    if not low:
        return None
    first = re.sub(r"[^a-z']", "", low.split()[0])
    if awaiting == "after_job":
        # AFTER-JOB: only a clear "yes, happy" counts as happy; anything with a problem in it
        # is unhappy, so the team calls rather than a complaint going unheard.
        if _UNHAPPY.search(low) or first in _NO:
            return Reply("unhappy")
        if first in _YES or _HAPPY.search(low):
            return Reply("happy")
        return Reply("unhappy")
    day = find_date(low, today)
    if _CANCEL.search(low) and day is None:
        return Reply("cancel")
    if _CANT.search(low) or _CHANGE.search(low) or first in _NO:
        return Reply("change", day)
    if day is not None and len(low) <= 80:
        return Reply("change", day)
    if first in _YES and len(low.split()) <= 6:
        return Reply("confirm")
    return None


def _pending_for(
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


def working_day_notice(
    clocks: ClockService, now: datetime, slot_date: date, zone: ZoneInfo
) -> bool:
    """APPT: is there at least one working day's notice before the appointment day?

    Yes when a working day lies strictly between today and that day, or today is a working
    day and the office has not closed yet (open now, or not yet open this morning)."""
    calendar: Any = clocks.calendar
    is_working_day = getattr(calendar, "is_working_day", None)
    if is_working_day is None:  # pragma: no cover - depends on the sla package's surface
        raise RuntimeError("sla.Calendar has no is_working_day(date)")
    local = now.astimezone(zone)
    today = local.date()
    day = today + timedelta(days=1)
    while day < slot_date:
        if is_working_day(day):
            return True
        day += timedelta(days=1)
    if today < slot_date and is_working_day(today):
        return bool(calendar.is_open(now)) or local.hour < 9
    return False


def handle_reply(turn: Any) -> bool:
    """The SMS turn handler's appointment step: True when the text was an answer to one of
    our appointment texts and has been answered."""
    pipeline = turn.pipeline
    uow: UnitOfWork = turn.uow
    msg = turn.message
    ctx = Context(pipeline.settings, pipeline.composer, pipeline.clocks, pipeline.now)
    now = ctx.now()
    appt = _pending_for(uow.conn, msg.sender, now, ctx.settings.sms.reply_window_days)
    if appt is None:
        return False
    today = now.astimezone(ctx.zone).date()
    reply = parse_reply(msg.body, today, awaiting=appt.awaiting)
    if reply is None:
        return False
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
    common: dict[str, Any] = {
        "reply": True,
        "interaction_id": interaction_id,
        "clock": "ack-2" if new else None,
    }

    if reply.kind == "confirm":
        _update(uow.conn, appt.id, confirmed_at=now, awaiting=None, updated_at=now)
        send_text(
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
        return True

    if reply.kind == "happy":
        _update(uow.conn, appt.id, satisfaction="happy", awaiting=None, updated_at=now)
        send_text(
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
        return True

    # Everything else needs a person: the interaction goes to the appointments team.
    if interaction_id is not None:
        _route_to_team(uow, ctx, interaction_id, appt, now)

    if reply.kind == "unhappy":
        # AFTER-JOB: contact within 2 working days if not happy with completed work.
        _update(uow.conn, appt.id, satisfaction="unhappy", awaiting=None, updated_at=now)
        deadline = now + timedelta(days=2)
        if interaction_id is not None:
            _stop(uow, ctx, interaction_id, HANDOFF_POLICIES, now)
            clock = ctx.clocks.start(
                uow.conn,
                interaction_id=interaction_id,
                policy=AFTER_JOB_POLICY,
                at=now,
                channel=Channel.SMS.value,
                topic="repair",
            )
            deadline = clock.due_at
            uow.add_event(interaction_id, "after_job_unhappy", {"job_ref": appt.job_ref})
        send_text(
            uow,
            ctx,
            appt,
            "appointment_reply_unhappy.txt.j2",
            key,
            now,
            kind="after_job_reply",
            team=team_in_words(ctx.settings.team(ctx.team).name),
            deadline=deadline_in_words(deadline, now=now),
            reference=_reference(uow, interaction_id),
            **common,
        )
        return True

    late = not working_day_notice(ctx.clocks, now, appt.slot_date, ctx.zone)
    contact_by = _handoff_deadline(uow, ctx, interaction_id, now)
    team_name = team_in_words(ctx.settings.team(ctx.team).name)
    if reply.kind == "cancel":
        _update(
            uow.conn,
            appt.id,
            status="cancelled_by_resident",
            awaiting=None,
            cancel_reason="resident replied to cancel",
            version=appt.version + 1,
            updated_at=now,
        )
        if late:
            _flag_late(uow, interaction_id, appt, "cancelled", now)
        elif new:
            close_interaction(uow, ctx.clocks, interaction_id, now, "appointment cancelled")
        send_text(
            uow,
            ctx,
            appt,
            "appointment_reply_cancelled.txt.j2",
            key,
            now,
            kind="appointment_reply",
            **common,
        )
        return True

    # change, can't make it, NO, or a date: the team contacts the resident to rearrange.
    _update(
        uow.conn,
        appt.id,
        status="change_requested",
        awaiting=None,
        preferred_date=reply.day,
        updated_at=now,
    )
    if late:
        _flag_late(uow, interaction_id, appt, "asked to change", now)
    elif interaction_id is not None:
        _note(
            uow,
            interaction_id,
            f"Resident asked to rearrange job {appt.job_ref}"
            + (f"; suggested {date_in_words(reply.day, today=today)}." if reply.day else "."),
        )
    send_text(
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
        reference=_reference(uow, interaction_id),
        **common,
    )
    return True


def _reference(uow: UnitOfWork, interaction_id: int | None) -> str | None:
    return None if interaction_id is None else uow.get_interaction(interaction_id).reference


def _route_to_team(
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
    _update(uow.conn, appt.id, interaction_id=interaction_id)


def _stop(
    uow: UnitOfWork, ctx: Context, interaction_id: int, policies: Iterable[str], now: datetime
) -> None:
    running = tuple(
        s.clock.policy for s in ctx.clocks.open_clocks(uow.conn, interaction_id, tuple(policies))
    )
    if running:
        ctx.clocks.stop(uow.conn, interaction_id, running, now)


def _handoff_deadline(
    uow: UnitOfWork, ctx: Context, interaction_id: int | None, now: datetime
) -> str:
    """When the team will be in touch: the interaction's own hand-off clock (HANDOFF)."""
    if interaction_id is not None:
        for stored in ctx.clocks.open_clocks(uow.conn, interaction_id, HANDOFF_POLICIES):
            return deadline_in_words(stored.clock.due_at, now=now)
        clock = ctx.clocks.start(
            uow.conn,
            interaction_id=interaction_id,
            policy="handoff-3",
            at=now,
            channel=Channel.SMS.value,
            topic="repair",
        )
        return deadline_in_words(clock.due_at, now=now)
    return deadline_in_words(ctx.clocks.deadline("handoff-3", now), now=now)


def _note(uow: UnitOfWork, interaction_id: int, text: str) -> None:
    uow.add_event(interaction_id, "note", {"text": text, "by": "assistant"})


def _flag_late(
    uow: UnitOfWork, interaction_id: int | None, appt: Appointment, what: str, now: datetime
) -> None:
    """APPT: less than one working day's notice is allowed, but the team must know (the
    operative may already be on the way)."""
    detail = {"job_ref": appt.job_ref, "what": what, "slot_start": appt.slot_start.isoformat()}
    uow.add_event(interaction_id, "appointment_late_notice", detail)
    if interaction_id is not None:
        _note(
            uow,
            interaction_id,
            f"Late notice: the resident {what} job {appt.job_ref} ({appt.trade}) less than one "
            f"working day before the visit on {appt.slot_date.isoformat()} {appt.slot}. "
            "Please tell the operative.",
        )


# ---- the worker --------------------------------------------------------------------------


class AppointmentWorker:
    """Sends due reminders and follows up failed texts (opt-out holds, email fall-back)."""

    def __init__(self, app: Any, *, poll_seconds: float | None = None) -> None:
        self.app = app
        self.service = AppointmentService.from_app(app)
        self.poll_seconds = poll_seconds or app.settings.sms.reminder_poll_seconds
        self._stop = asyncio.Event()

    def run_once(self) -> dict[str, int]:
        from channels.sms.delivery import follow_up_failures

        reminders = self.service.send_due_reminders()
        failures = follow_up_failures(self.app.engine, self.app.settings, self.app.now())
        if reminders or failures:
            self.app.outbox.wake()
        return {"reminders": reminders, "failures": failures}

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:
                log.exception("appointment worker pass failed; retrying")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.poll_seconds)

    def stop(self) -> None:
        self._stop.set()


def build_worker(app: Any) -> AppointmentWorker:
    return AppointmentWorker(app)
