"""Kept so `from actions.appointment_requests import ...` (bot/web/assistant_api.py) still
works: the resident's appointments through the assistant now live in
actions/appointments/assistant.py."""

from __future__ import annotations

from actions.appointments.assistant import Upcoming, resident_request, upcoming_for

__all__ = ["Upcoming", "resident_request", "upcoming_for"]
