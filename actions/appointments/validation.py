"""Checking appointment fields from the repairs system (API and CSV alike). No I/O."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from actions.appointments.model import FIELDS, InvalidAppointment
from channels.sms.phone import PhoneError
from channels.sms.phone import normalise as normalise_phone

_JOB_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.\-]{0,59}$")
_WINDOW = re.compile(r"^(\d{1,2})(?::?(\d{2}))?\s*-\s*(\d{1,2})(?::?(\d{2}))?$")


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
