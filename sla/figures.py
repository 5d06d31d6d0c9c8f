"""The figures a landlord publishes (MONITOR in domain.md), defined once: what each counts,
in words a manager and a resident can read. Pure: the performance page, its exports and the
public page all take their labels and definitions from here.

How a clock counts is `sla.reports.decided_in`: met when its promise was kept in time,
missed when its due time passed unkept (or staff settled it as not met), set aside when it
was withdrawn or superseded; a clock is counted in the period in which that was decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta


@dataclass(frozen=True, slots=True)
class Figure:
    id: str
    label: str  # for staff
    public_label: str  # for residents, in plain words
    policies: tuple[str, ...]
    definition: str


FIGURES: tuple[Figure, ...] = (
    Figure(
        "ack",
        "2-ten: acknowledged in time",
        "We told you we had your message in time",
        ("ack-2", "email-ack-now", "social"),
        "Share of enquiries acknowledged within the promise for their channel: email at once "
        "(EMAIL-NOW, 15 minutes), social media by the end of the next working day (SOCIAL), "
        "everything else within 2 working days (ACK-2).",
    ),
    Figure(
        "respond",
        "2-ten: full response in 10 working days",
        "We gave you a full answer within 10 working days",
        ("respond-10",),
        "Share of enquiries answered in full, or told what happens next, within 10 working "
        "days (RESP-10).",
    ),
    Figure(
        "handoff",
        "Passed-on messages picked up in time",
        "When we passed your message to a team, they contacted you in time",
        ("handoff-3", "handoff-urgent-1", "email-3", "email-urgent-1"),
        "Share of messages the owning team answered within 3 working days, or 1 when urgent "
        "(HANDOFF, EMAIL-NOW).",
    ),
    Figure(
        "asb",
        "Anti-social behaviour reports answered in time",
        "We answered reports of anti-social behaviour in time",
        ("asb-urgent-1", "asb-routine-5"),
        "Share of new ASB reports answered within 1 working day when urgent, 5 when not (ASB).",
    ),
    Figure(
        "procedure",
        "Complaints procedure sent in 1 working day",
        "We sent our complaints procedure within 1 working day",
        ("complaint-procedure-1",),
        "Share of complaints that got the complaints procedure within 1 working day (COMPLAINT).",
    ),
    Figure(
        "ch02_1",
        "CH02: stage 1 complaints answered in time",
        "We answered stage 1 complaints within the Complaint Handling Code's time",
        ("complaint-stage1-response",),
        "Tenant Satisfaction Measure CH02 (stage 1): share of stage 1 complaints answered "
        "within 10 working days of acknowledgement, plus any extension the Code allows.",
    ),
    Figure(
        "ch02_2",
        "CH02: stage 2 complaints answered in time",
        "We answered stage 2 complaints within the Complaint Handling Code's time",
        ("complaint-stage2-response",),
        "Tenant Satisfaction Measure CH02 (stage 2): share of stage 2 complaints answered "
        "within 20 working days of acknowledgement, plus any extension the Code allows.",
    ),
    Figure(
        "awaab",
        "Awaab's Law: emergency hazards made safe in 24 hours",
        "We made emergency hazards safe within 24 hours",
        ("awaab-emergency",),
        "Share of emergency hazards investigated and made safe within 24 hours, weekends "
        "included (Awaab's Law, SI 2025/1042). Met only when staff recorded it made safe.",
    ),
)

# Shown beside CH02 on the page (counts, not shares).
CH01_DEFINITION = (
    "Tenant Satisfaction Measure CH01: complaints received per 1,000 homes, stage 1 and "
    "stage 2 counted separately (from the complaint acknowledgement clocks started in the "
    "period), using the number of homes in settings (performance.homes)."
)

# Time to acknowledge and to respond, as a distribution (upper bounds in seconds).
TIME_BINS: tuple[tuple[str, float], ...] = (
    ("under 1 minute", 60),
    ("1 to 15 minutes", 15 * 60),
    ("15 minutes to 1 hour", 3600),
    ("1 to 4 hours", 4 * 3600),
    ("4 to 24 hours", 86400),
    ("1 to 2 days", 2 * 86400),
    ("2 to 5 days", 5 * 86400),
    ("2 to 3 weeks", 21 * 86400),
    ("over 3 weeks", float("inf")),
)


def week_start(day: date) -> date:
    """Weeks start on Monday, as working weeks do."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def time_bin(seconds: float) -> str:
    for label, upper in TIME_BINS:
        if seconds < upper:
            return label
    return TIME_BINS[-1][0]
