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

The package, by what each module is for (its public surface is this module: import from
`actions.appointments`):

- model.py: the types and states, the errors (AppointmentError and its kinds);
- validation.py: checking the repairs system's fields;
- store.py: every SQL statement of the feature;
- texts.py: what the texts say (templates) and how they go (the outbox);
- booking.py: AppointmentService, what the API and the CLI call;
- reminders.py: the day-before reminder (APPT);
- parsing.py and replies.py: what the resident's answer means, and acting on it;
- notice.py and team.py: the working-day notice rule, and the team's promise to call;
- assistant.py: the resident's own appointments through the assistant (Rasa's actions);
- worker.py: the background worker (reminders, failed-text follow-ups).
"""

from __future__ import annotations

from actions.appointments.assistant import Upcoming, resident_request, upcoming_for
from actions.appointments.booking import AppointmentService
from actions.appointments.model import (
    ACTIVE,
    AFTER_JOB_POLICY,
    CANCELLED,
    FIELDS,
    HANDOFF_POLICIES,
    Appointment,
    AppointmentConflict,
    AppointmentError,
    AppointmentInput,
    AppointmentNotFound,
    Context,
    InvalidAppointment,
    slot_window,
)
from actions.appointments.notice import flag_late, working_day_notice
from actions.appointments.parsing import Reply, find_date, parse_reply
from actions.appointments.reminders import send_due_reminders
from actions.appointments.replies import handle_reply
from actions.appointments.team import handoff_deadline
from actions.appointments.texts import send_text, slot_in_words
from actions.appointments.validation import normalise_slot, validate_input
from actions.appointments.worker import AppointmentWorker, build_worker

__all__ = [
    "ACTIVE",
    "AFTER_JOB_POLICY",
    "CANCELLED",
    "FIELDS",
    "HANDOFF_POLICIES",
    "Appointment",
    "AppointmentConflict",
    "AppointmentError",
    "AppointmentInput",
    "AppointmentNotFound",
    "AppointmentService",
    "AppointmentWorker",
    "Context",
    "InvalidAppointment",
    "Reply",
    "Upcoming",
    "build_worker",
    "find_date",
    "flag_late",
    "handle_reply",
    "handoff_deadline",
    "normalise_slot",
    "parse_reply",
    "resident_request",
    "send_due_reminders",
    "send_text",
    "slot_in_words",
    "slot_window",
    "upcoming_for",
    "validate_input",
    "working_day_notice",
]
