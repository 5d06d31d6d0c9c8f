"""The working-day SLA engine: calendars, policies, clocks and reports. Pure Python, no I/O:
callers read files and databases and hand the engine values."""

from sla.calendar import (
    DIVISIONS,
    LONDON,
    Calendar,
    OfficeHours,
    load_bank_holidays_json,
    to_london,
    to_utc,
)
from sla.clock import Clock, ClockState
from sla.errors import SlaConfigError, SlaError
from sla.policies import PRESETS, Policy, Unit, load_policies, policy_named
from sla.reports import ClockRecord, ReportRow, headlines, share_met

__all__ = [
    "DIVISIONS",
    "LONDON",
    "PRESETS",
    "Calendar",
    "Clock",
    "ClockRecord",
    "ClockState",
    "OfficeHours",
    "Policy",
    "ReportRow",
    "SlaConfigError",
    "SlaError",
    "Unit",
    "headlines",
    "load_bank_holidays_json",
    "load_policies",
    "policy_named",
    "share_met",
    "to_london",
    "to_utc",
]
