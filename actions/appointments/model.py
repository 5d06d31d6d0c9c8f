"""Appointments: the types and states (APPT, AFTER-JOB). No I/O.

An appointment is `scheduled` (waiting for the resident's YES when `awaiting` is
"confirm"), `change_requested` (the resident asked to rearrange: the team calls), one of the
cancelled states, or `completed` (then `awaiting` "after_job" until they say whether they
are happy with the work). Its reminder is `pending` until the day-before run sends or skips
it (reminders.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from actions.acknowledge import Composer
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.service.clocks import ClockService

# The states in which the resident can still confirm, cancel or ask to change.
ACTIVE = ("scheduled", "change_requested")
CANCELLED = ("cancelled", "cancelled_by_resident")
HANDOFF_POLICIES = ("handoff-3", "handoff-urgent-1")
AFTER_JOB_POLICY = "after-job-2"
FIELDS = ("job_ref", "resident_name", "phone", "email", "address", "date", "slot", "trade")


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


def hhmm(text: str) -> time:
    hours, _, minutes = text.partition(":")
    return time(int(hours), int(minutes or 0))


def slot_window(settings: Settings, slot: str) -> tuple[time, time]:
    window = {
        "am": settings.sms.am_slot,
        "pm": settings.sms.pm_slot,
        "all-day": settings.sms.all_day_slot,
    }.get(slot, slot)
    start, _, end = window.partition("-")
    return hhmm(start), hhmm(end)
