"""Named SLA policies: the promises a landlord makes, as exact deadline rules.

Each preset names the promise it keeps (the ids of ../shared/domain.md) and where that
promise comes from. A landlord overrides any field of a preset, or adds a policy of its own,
in configuration (`sla.policies` in config.yml); `load_policies` validates the result.

Deadline semantics, per unit:

- working_days: the message counts as received on day 0 (the day it arrives if that is a
  working day and it arrives before close of business, otherwise the next working day); the
  deadline is close of business on the Nth working day after day 0 (N = 0: close of day 0).
  "End of the next working day" is N = 1.
- minutes, hours: elapsed time from receipt, ignoring calendars ("immediately" is a target
  in minutes; Awaab's Law emergencies are 24 clock hours, weekends included).
- calendar_days: the end (23:59:59 London) of the Nth calendar day after receipt.
- months: the corresponding date N months later (the last day of the month when there is
  none), moved to the next working day when it is not one, ending 23:59:59 London; the
  ICO's rule for subject access requests.
"""

from __future__ import annotations

import calendar as _monthcal
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sla.calendar import LONDON, Calendar, to_london, to_utc
from sla.due_soon import DEFAULT_DUE_SOON_FRACTION, check_fraction, due_soon_from
from sla.errors import SlaConfigError, SlaError


class Unit(StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    MONTHS = "months"


ELAPSED_UNITS = frozenset({Unit.MINUTES, Unit.HOURS, Unit.CALENDAR_DAYS, Unit.MONTHS})

_END_OF_DAY = time(23, 59, 59)


@dataclass(frozen=True, slots=True)
class Policy:
    """One promise as a deadline rule.

    - amount, unit: the target ("2 working_days", "24 hours", "1 months").
    - max_extension: how much a clock may be extended, in the policy's own unit (the Code
      allows 10 working days at stage 1); 0 means no extension.
    - starts_from: what starts the clock, for people reading the policy list ("receipt",
      "acknowledgement", "escalation", "completed job", "investigation").
    - due_soon_fraction: "due soon" is the last this share of the promise (sla/due_soon.py).
      It is one setting for every promise (`sla.due_soon_fraction`), which `load_policies`
      copies here so that a new clock's stored warning time follows it; a policy cannot
      have its own.
    """

    name: str
    promise: str
    source: str
    amount: int
    unit: Unit = Unit.WORKING_DAYS
    max_extension: int = 0
    starts_from: str = "receipt"
    due_soon_fraction: float = DEFAULT_DUE_SOON_FRACTION
    summary: str = ""

    def __post_init__(self) -> None:
        where = f"sla.policies.{self.name}"
        if not isinstance(self.unit, Unit):
            # A plain string ("hours") would compare equal to the member but fail the
            # identity checks in deadline(): store the member.
            try:
                object.__setattr__(self, "unit", Unit(self.unit))
            except ValueError:
                raise SlaConfigError(
                    f"{where}.unit: {self.unit!r} is not one of {', '.join(u.value for u in Unit)}"
                ) from None
        for key in ("amount", "max_extension"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int):
                raise SlaConfigError(f"{where}.{key}: {value!r} is not a whole number")
        check_fraction(self.due_soon_fraction)
        if self.amount < 0:
            raise SlaConfigError(f"{where}.amount: must be 0 or more, not {self.amount}")
        if self.amount == 0 and self.unit is not Unit.WORKING_DAYS:
            raise SlaConfigError(f"{where}.amount: must be more than 0 {self.unit.value}")
        if self.max_extension < 0:
            raise SlaConfigError(f"{where}.max_extension: must be 0 or more")

    @property
    def max_extension_days(self) -> int:
        """The extension limit (in the policy's unit; days for the day-based policies)."""
        return self.max_extension

    @property
    def elapsed(self) -> bool:
        """True when the calendar's office hours do not matter to the target."""
        return self.unit in ELAPSED_UNITS

    def deadline(self, received_at: datetime, calendar: Calendar, extra: int = 0) -> datetime:
        """The deadline (aware, Europe/London) for something received at `received_at`
        (naive means London), with `extra` more units (an extension)."""
        amount = self.amount + extra
        if self.unit is Unit.WORKING_DAYS:
            return calendar.add_working_days(received_at, amount)
        if self.unit is Unit.MINUTES:
            return (to_utc(received_at) + timedelta(minutes=amount)).astimezone(LONDON)
        if self.unit is Unit.HOURS:
            return (to_utc(received_at) + timedelta(hours=amount)).astimezone(LONDON)
        local = to_london(received_at).date()
        if self.unit is Unit.CALENDAR_DAYS:
            return _end_of(local + timedelta(days=amount))
        return _end_of(calendar.working_day_after(_add_months(local, amount), 0))

    def warn_at(self, due_at: datetime, started_at: datetime, calendar: Calendar) -> datetime:
        """When a clock due at `due_at` turns "due soon" (the clock's stored warning time):
        the last `due_soon_fraction` of the promise; never before it started."""
        return due_soon_from(self, due_at, started_at, self.due_soon_fraction, calendar)

    def describe(self) -> str:
        """The rule in words, e.g. "2 working days from receipt"."""
        if self.unit is Unit.WORKING_DAYS:
            if self.amount == 0:
                rule = f"close of business on the day of {self.starts_from}"
            elif self.amount == 1:
                rule = "end of the next working day"
            else:
                rule = f"{self.amount} working days"
        elif self.unit is Unit.MONTHS:
            rule = "one month" if self.amount == 1 else f"{self.amount} months"
        else:
            label = self.unit.value.replace("_", " ")
            rule = f"{self.amount} {label[:-1] if self.amount == 1 else label}"
            if self.unit is Unit.HOURS:
                rule += " (clock hours, weekends included)"
        text = rule if self.amount == 0 else f"{rule} from {self.starts_from}"
        if self.max_extension:
            text += f"; may be extended by up to {self.max_extension} {self.unit.value}"
            text = text.replace("_", " ")
        return text


def _end_of(day: date) -> datetime:
    return datetime.combine(day, _END_OF_DAY, tzinfo=LONDON)


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, _monthcal.monthrange(year, month)[1]))


# The published service standards in ../shared/seeds/ that each promise comes from.
_SEED = {
    "000": "service standard seeds/000 ('2-ten')",
    "001": "service standards seeds/001 (Longhurst & Havelok Homes)",
    "002": "customer service standards seeds/002",
    "003": "customer care standard seeds/003 (South Essex Homes)",
    "004": "contacting us standard seeds/004",
}
_CODE = "Housing Ombudsman Complaint Handling Code 2024"
_AWAAB = "Awaab's Law (SI 2025/1042)"


def _preset(name: str, promise: str, source: str, amount: int, **kw: Any) -> Policy:
    return Policy(name=name, promise=promise, source=source, amount=amount, **kw)


PRESETS: dict[str, Policy] = {
    p.name: p
    for p in (
        _preset(
            "email-ack-now", "EMAIL-NOW", _SEED["001"], 15, unit=Unit.MINUTES,
            summary="acknowledge an email immediately",
        ),
        _preset("ack-2", "ACK-2", _SEED["000"], 2, summary="acknowledge within 2 working days"),
        _preset(
            "respond-10", "RESP-10", f"{_SEED['000']}; {_SEED['002']}", 10,
            summary="full response within 10 working days ('2-ten')",
        ),
        _preset(
            "respond-10-holding", "RESP-10", f"{_SEED['000']}; {_SEED['002']}", 10,
            summary="if not finished, tell the resident by day 10 what happens next",
        ),
        _preset(
            "email-3", "EMAIL-NOW", _SEED["001"], 3,
            summary="respond to email in 3 working days",
        ),
        _preset(
            "email-urgent-1", "EMAIL-NOW", _SEED["001"], 1,
            summary="respond to urgent email in 1 working day",
        ),
        _preset(
            "handoff-3", "HANDOFF", f"{_SEED['000']}; {_SEED['001']}; {_SEED['003']}", 3,
            summary="a passed-on message acknowledged by the owning team",
        ),
        _preset(
            "handoff-urgent-1", "HANDOFF", f"{_SEED['000']}; {_SEED['001']}", 1,
            summary="an urgent passed-on message",
        ),
        _preset("asb-urgent-1", "ASB", _SEED["001"], 1, summary="urgent ASB report"),
        _preset("asb-routine-5", "ASB", _SEED["001"], 5, summary="non-urgent ASB report"),
        _preset(
            "voicemail", "VOICEMAIL", f"{_SEED['001']}; {_SEED['002']}", 1,
            summary="voicemail answered by the end of the next working day",
        ),
        _preset(
            "social", "SOCIAL", _SEED["002"], 1,
            summary="social media answered by the end of the following working day",
        ),
        _preset("letter-10", "LETTER", _SEED["001"], 10, summary="letters"),
        _preset(
            "written-simple-3", "WRITTEN-3/10", _SEED["003"], 3, summary="simple written query"
        ),
        _preset(
            "written-complex-10", "WRITTEN-3/10", _SEED["003"], 10,
            summary="complex written query",
        ),
        _preset(
            "complaint-procedure-1", "COMPLAINT", f"{_SEED['001']}; {_SEED['002']}", 1,
            summary="send the complaints procedure",
        ),
        _preset(
            "complaint-stage1-ack", "COMPLAINT", f"{_CODE}: stage 1 acknowledgement", 5,
            summary="acknowledge a stage 1 complaint",
        ),
        _preset(
            "complaint-stage1-response", "COMPLAINT", f"{_CODE}: stage 1 response", 10,
            starts_from="acknowledgement", max_extension=10,
            summary="stage 1 response",
        ),
        _preset(
            "complaint-stage2-ack", "COMPLAINT", f"{_CODE}: stage 2 acknowledgement", 5,
            starts_from="escalation",
            summary="acknowledge an escalation to stage 2",
        ),
        _preset(
            "complaint-stage2-response", "COMPLAINT", f"{_CODE}: stage 2 response", 20,
            starts_from="acknowledgement", max_extension=20,
            summary="stage 2 response",
        ),
        _preset(
            "after-job-2", "AFTER-JOB", _SEED["004"], 2, starts_from="completed job",
            summary="contact an unhappy resident after a job",
        ),
        _preset(
            "awaab-emergency", "EMERGENCY", f"{_AWAAB}: emergency hazards", 24,
            unit=Unit.HOURS,
            summary="investigate and make safe an emergency hazard",
        ),
        _preset(
            "awaab-investigate", "EMERGENCY", f"{_AWAAB}: significant hazards", 10,
            summary="investigate a significant hazard (damp and mould)",
        ),
        _preset(
            "awaab-summary", "EMERGENCY", f"{_AWAAB}: written summary", 3,
            starts_from="investigation",
            summary="written summary of the investigation",
        ),
        _preset(
            "sar", "PRIVACY", "UK GDPR Art. 12(3); ICO guidance on subject access", 1,
            unit=Unit.MONTHS, max_extension=2,
            summary="answer a subject access request",
        ),
    )
}  # fmt: skip

_FIELDS = {f.name for f in fields(Policy)} - {"name", "due_soon_fraction"}
# Fields that once were per policy and now are one setting for every promise.
_REPLACED = {
    "warn_fraction": "sla.due_soon_fraction (one share of every promise, e.g. 0.2)",
    "due_soon_fraction": "sla.due_soon_fraction (one share of every promise, e.g. 0.2)",
}


def load_policies(
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    due_soon_fraction: float | None = None,
) -> dict[str, Policy]:
    """The presets with configuration applied: {name: {field: value}} changes fields of a
    preset, or defines a new policy (which then needs promise, source and amount).

    `due_soon_fraction` (sla.due_soon_fraction) is given to every policy, so the warning
    time stored on a new clock follows the one "due soon" rule (sla/due_soon.py).
    """
    fraction = DEFAULT_DUE_SOON_FRACTION
    if due_soon_fraction is not None:
        fraction = check_fraction(due_soon_fraction)
    policies = {name: replace(p, due_soon_fraction=fraction) for name, p in PRESETS.items()}
    for name, changes in (overrides or {}).items():
        where = f"sla.policies.{name}"
        if not isinstance(changes, Mapping):
            raise SlaConfigError(
                f"{where}: expected a mapping of fields ({', '.join(sorted(_FIELDS))})"
            )
        for key in sorted(set(changes) & set(_REPLACED)):
            raise SlaConfigError(f"{where}.{key}: no longer per policy; set {_REPLACED[key]}")
        unknown = set(changes) - _FIELDS
        if unknown:
            raise SlaConfigError(
                f"{where}: unknown field {sorted(unknown)[0]!r}; accepted: "
                f"{', '.join(sorted(_FIELDS))}"
            )
        values = dict(changes)
        if "unit" in values:
            try:
                values["unit"] = Unit(str(values["unit"]).strip().lower().replace(" ", "_"))
            except ValueError:
                raise SlaConfigError(
                    f"{where}.unit: {values['unit']!r} is not one of "
                    f"{', '.join(u.value for u in Unit)}"
                ) from None
        for key in ("amount", "max_extension"):
            if key in values and (
                isinstance(values[key], bool) or not isinstance(values[key], int)
            ):
                raise SlaConfigError(f"{where}.{key}: {values[key]!r} is not a whole number")
        try:
            if name in policies:
                policies[name] = replace(policies[name], **values)
            else:
                missing = {"promise", "source", "amount"} - set(values)
                if missing:
                    raise SlaConfigError(
                        f"{where}: a new policy needs {', '.join(sorted(missing))}"
                    )
                policies[name] = Policy(name=name, due_soon_fraction=fraction, **values)
        except TypeError as exc:
            raise SlaConfigError(f"{where}: {exc}") from exc
    return policies


def policy_named(policies: Mapping[str, Policy], name: str) -> Policy:
    """A policy by name, or an error listing the accepted names."""
    try:
        return policies[name]
    except KeyError:
        raise SlaError(
            f"unknown policy {name!r}; accepted: {', '.join(sorted(policies))}"
        ) from None
