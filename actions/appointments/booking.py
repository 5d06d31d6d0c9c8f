"""Scheduling, moving, cancelling and completing appointments (APPT, AFTER-JOB): what the
repairs system asks through the API and the CLI. Each change texts the resident in the
same transaction (texts.py); the day-before reminder is reminders.py."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from actions.appointments import reminders, store
from actions.appointments.model import (
    ACTIVE,
    CANCELLED,
    Appointment,
    AppointmentConflict,
    Context,
    InvalidAppointment,
)
from actions.appointments.texts import is_urgent, send_text, slot_in_words
from actions.appointments.validation import validate_input
from bot.storage.repository import UnitOfWork

if TYPE_CHECKING:
    from bot.bootstrap import App


class AppointmentService:
    """Schedule, move, cancel and complete appointments; each change texts the resident."""

    def __init__(self, engine: sa.Engine, ctx: Context) -> None:
        self.engine = engine
        self.ctx = ctx

    @classmethod
    def from_app(cls, app: App) -> AppointmentService:
        return cls(app.engine, Context(app.settings, app.composer, app.clocks, app.now))

    def get(self, job_ref: str) -> Appointment:
        with self.engine.connect() as conn:
            return store.load(conn, job_ref)

    def find(self, *, since: date | None = None, limit: int = 500) -> list[Appointment]:
        with self.engine.connect() as conn:
            return store.listed(conn, since=since, limit=limit)

    def texts(self, appt: Appointment) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return store.texts_of(conn, appt.job_ref)

    def schedule(self, data: Mapping[str, object | None]) -> tuple[Appointment, bool]:
        """Create an appointment and text the resident. Returns (appointment, created).

        Posting the same appointment again is harmless (a retry); posting a different one
        under a job reference we already have is a conflict (use update)."""
        now = self.ctx.now()
        fields = validate_input(data, today=now.astimezone(self.ctx.zone).date())
        with UnitOfWork(self.engine, self.ctx.now) as uow:
            existing = store.find(uow.conn, fields["job_ref"])
            if existing is not None:
                appt = existing
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
            start, end, reminder = store.slot_times(self.ctx, fields["date"], fields["slot"])
            contact_id = uow.contact_for("phone", fields["phone"], fields.get("resident_name"))
            store.link_email(uow.conn, contact_id, fields.get("email"))
            # Scheduled after the reminder time the day before: the scheduling text is the
            # reminder (it gives the day and time), so no second text follows minutes later.
            reminder_status = "pending" if reminder > now else "skipped"
            new_id = store.insert(
                uow.conn,
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
            appt = store.load(uow.conn, fields["job_ref"])
            send_text(
                uow,
                self.ctx,
                appt,
                "appointment_scheduled.txt.j2",
                f"appt:{appt.job_ref}:scheduled",
                now,
                kind="appointment_scheduled",
                urgent=is_urgent(self.ctx, appt, now),
            )
            uow.add_event(None, "appointment_scheduled", {"job_ref": appt.job_ref, "id": new_id})
            uow.commit()
            return store.load(uow.conn, appt.job_ref), True

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
            appt = store.load(uow.conn, job_ref, lock=True)
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
            store.link_email(
                uow.conn, values.get("contact_id", appt.contact_id), changes.get("email")
            )
            if moved:
                start, end, reminder = store.slot_times(
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
            store.update(uow.conn, appt.id, **values)
            updated = store.load(uow.conn, job_ref)
            if moved:
                send_text(
                    uow,
                    self.ctx,
                    updated,
                    "appointment_moved.txt.j2",
                    f"appt:{job_ref}:moved:{version}",
                    now,
                    kind="appointment_moved",
                    urgent=is_urgent(self.ctx, appt, now) or is_urgent(self.ctx, updated, now),
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
            return store.load(uow.conn, job_ref)

    def cancel(self, job_ref: str, reason: str | None = None) -> Appointment:
        """We cancel (APPT: when we can't make it, we tell the resident and rearrange)."""
        now = self.ctx.now()
        reason = (reason or "").strip()[:300] or None
        with UnitOfWork(self.engine, self.ctx.now) as uow:
            appt = store.load(uow.conn, job_ref, lock=True)
            if appt.status in CANCELLED:
                return appt
            if appt.status == "completed":
                raise AppointmentConflict(f"job {job_ref} is already completed")
            version = appt.version + 1
            store.update(
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
                    urgent=is_urgent(self.ctx, appt, now),
                    reason=reason,
                )
            uow.add_event(appt.interaction_id, "appointment_cancelled", {"job_ref": job_ref})
            uow.commit()
            return store.load(uow.conn, job_ref)

    def complete(self, job_ref: str) -> Appointment:
        """The job is done: ask whether the resident is happy with it (AFTER-JOB)."""
        now = self.ctx.now()
        with UnitOfWork(self.engine, self.ctx.now) as uow:
            appt = store.load(uow.conn, job_ref, lock=True)
            if appt.status == "completed":
                return appt
            if appt.status in CANCELLED:
                raise AppointmentConflict(f"job {job_ref} was cancelled")
            store.update(
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
            return store.load(uow.conn, job_ref)

    # ---- reminders --------------------------------------------------------------------

    def send_due_reminders(self, limit: int = 200) -> int:
        """Send every reminder that is due now, each exactly once. Returns how many went."""
        return reminders.send_due_reminders(self.engine, self.ctx, limit)
