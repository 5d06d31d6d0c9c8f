"""APPT's notice rule: a resident may cancel or change at least one working day ahead; a
later cancellation is allowed but flagged to the team (the operative may be on the way)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from actions.appointments.model import Appointment
from bot.domain.interaction import ClockRules
from bot.storage.repository import UnitOfWork


def working_day_notice(clocks: ClockRules, now: datetime, slot_date: date, zone: ZoneInfo) -> bool:
    """APPT: is there at least one working day's notice before the appointment day?

    Yes when a working day lies strictly between today and that day, or today is a working
    day and the office has not closed yet (open now, or not yet open this morning)."""
    calendar = clocks.calendar
    local = now.astimezone(zone)
    today = local.date()
    day = today + timedelta(days=1)
    while day < slot_date:
        if calendar.is_working_day(day):
            return True
        day += timedelta(days=1)
    if today < slot_date and calendar.is_working_day(today):
        return bool(calendar.is_open(now)) or local.hour < 9
    return False


def note(uow: UnitOfWork, interaction_id: int, text: str) -> None:
    uow.add_event(interaction_id, "note", {"text": text, "by": "assistant"})


def flag_late(
    uow: UnitOfWork, interaction_id: int | None, appt: Appointment, what: str, now: datetime
) -> None:
    """APPT: less than one working day's notice is allowed, but the team must know (the
    operative may already be on the way)."""
    detail = {"job_ref": appt.job_ref, "what": what, "slot_start": appt.slot_start.isoformat()}
    uow.add_event(interaction_id, "appointment_late_notice", detail)
    if interaction_id is not None:
        note(
            uow,
            interaction_id,
            f"Late notice: the resident {what} job {appt.job_ref} ({appt.trade}) less than one "
            f"working day before the visit on {appt.slot_date.isoformat()} {appt.slot}. "
            "Please tell the operative.",
        )
