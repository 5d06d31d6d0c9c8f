"""When a promise is "due soon": the one rule every reader of a clock uses (the queue, the
case page, staff alerts and digests, the API's attention list, `doorstep sla report`) and
the warning time stored on a new clock (`Policy.warn_at`).

"Due soon" is the last `fraction` of the promise's own length (`sla.due_soon_fraction`, 0.2
by default: the last 20 %). The length is the policy's amount, not the clock's: an extension
or a pause moves the deadline, not how long before it an officer should start to worry.

- A working-day promise is measured in office time, a working day counting as the
  calendar's average office day (8 hours for 09:00-17:00): a 20-working-day stage 2
  complaint is due soon for its last 4 working days, a 1-working-day promise for its last
  fifth of a day (1 hour 36 minutes). "Close of business today" (0 days) counts as one day.
- An elapsed promise in clock time: Awaab's Law's 24 hours are due soon for their last
  4 hours 48 minutes; a month is a twelfth of a year.

Because the lead depends on the policy only, "due soon at `now`" is a deadline range per
policy (`due_soon_until`), which lets a database count such clocks with one range over its
deadline index; `due_soon_from` is the same rule read from the deadline's side (the stored
warning time). For every clock, `now >= due_soon_from(...)` exactly when
`due_at <= due_soon_until(..., now)`.

Pure: no I/O.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sla.calendar import LONDON, Calendar, to_london, to_utc
from sla.errors import SlaConfigError

if TYPE_CHECKING:
    from sla.policies import Policy

# sla.policies imports this module (Policy.warn_at), so Unit is imported where it is used.

DEFAULT_DUE_SOON_FRACTION = 0.2
DUE_SOON, BREACHED = "due_soon", "breached"
_MONTH = timedelta(days=365.25 / 12)


def check_fraction(value: object, where: str = "sla.due_soon_fraction") -> float:
    """The fraction, or SlaConfigError naming `where` (more than 0, at most 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise SlaConfigError(
            f"{where}: {value!r} is not a share of the promise above 0 and at most 1 "
            "(0.2: the last 20 %)"
        )
    return float(value)


def average_office_day_seconds(calendar: Calendar) -> float:
    """The mean length of an open weekday's office hours (8 hours for 09:00-17:00)."""
    spans = [
        (close.hour - opens.hour) * 3600 + (close.minute - opens.minute) * 60
        for opens, close in (s for s in calendar.office_hours.days if s is not None)
    ]
    return sum(spans) / len(spans)  # OfficeHours has at least one open day


def _working(policy: Policy) -> bool:
    from sla.policies import Unit

    return policy.unit is Unit.WORKING_DAYS


def lead(policy: Policy, fraction: float, calendar: Calendar) -> timedelta:
    """How long before its deadline a clock of `policy` is due soon: office time for a
    working-day promise, clock time otherwise."""
    from sla.policies import Unit

    if policy.unit is Unit.WORKING_DAYS:
        days = max(policy.amount, 1)
        return timedelta(seconds=fraction * days * average_office_day_seconds(calendar))
    if policy.unit is Unit.MINUTES:
        length = timedelta(minutes=policy.amount)
    elif policy.unit is Unit.HOURS:
        length = timedelta(hours=policy.amount)
    elif policy.unit is Unit.CALENDAR_DAYS:
        length = timedelta(days=policy.amount)
    else:
        length = policy.amount * _MONTH
    return fraction * length


def due_soon_until(policy: Policy, now: datetime, fraction: float, calendar: Calendar) -> datetime:
    """The latest deadline that counts as due soon at `now` for a clock of `policy` (UTC): a
    running clock due in [now, due_soon_until] is due soon, one due later is not yet."""
    ahead = lead(policy, fraction, calendar)
    if _working(policy):
        return to_utc(calendar.add_working_seconds(now, ahead.total_seconds()))
    return to_utc(now) + ahead


def due_soon_from(
    policy: Policy,
    due_at: datetime,
    started_at: datetime,
    fraction: float,
    calendar: Calendar,
) -> datetime:
    """When a clock due at `due_at` turns due soon (London time); never before it started.

    Going back in office time, a moment that lands on an opening belongs to the previous
    close (Calendar.add_working_seconds), so a deadline at Friday's close with a day's lead
    is due soon from Thursday's close, as `due_soon_until` says at Thursday 20:00."""
    ahead = lead(policy, fraction, calendar)
    if _working(policy):
        warn = calendar.add_working_seconds(due_at, -ahead.total_seconds())
    else:
        warn = (to_utc(due_at) - ahead).astimezone(LONDON)
    return max(warn, to_london(started_at), key=to_utc)


def attention_state(
    policy: Policy | None,
    *,
    due_at: datetime,
    now: datetime,
    fraction: float,
    calendar: Calendar,
    warn_at: datetime | None = None,
) -> str | None:
    """BREACHED once the due time has passed, DUE_SOON in the promise's last `fraction`
    (up to and including the due time), else None, for a running clock.

    A clock whose policy is no longer configured has no length to take a share of: it is
    due soon from its stored warning time `warn_at` (None: never)."""
    moment = to_utc(now)
    if moment > to_utc(due_at):
        return BREACHED
    if policy is not None:
        soon = to_utc(due_at) <= due_soon_until(policy, now, fraction, calendar)
    else:
        soon = warn_at is not None and moment >= to_utc(warn_at)
    return DUE_SOON if soon else None
