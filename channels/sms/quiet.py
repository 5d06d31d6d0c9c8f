"""Quiet hours: texts that are not urgent wait until morning (default 20:00-08:00 local).

Pure: takes the time and the settings, returns when a text may go (None: at once). The
outbox holds a message until its `not_before`.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.settings import Sms


def _clock(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def quiet_until(now: datetime, sms: Sms) -> datetime | None:
    """The end of the quiet period `now` falls in, or None when it is not quiet now."""
    zone = ZoneInfo(sms.timezone)
    local = now.astimezone(zone)
    start, end = _clock(sms.quiet_start), _clock(sms.quiet_end)
    if start == end:
        return None  # no quiet hours configured
    t = local.time().replace(tzinfo=None)
    if start > end:  # spans midnight, e.g. 20:00-08:00
        if t >= start:
            day = local.date() + timedelta(days=1)
        elif t < end:
            day = local.date()
        else:
            return None
    else:  # e.g. 00:00-07:00
        if not (start <= t < end):
            return None
        day = local.date()
    # Built from the local wall-clock time, so a change to or from summer time is handled.
    return datetime.combine(day, end, tzinfo=zone)


def not_before(now: datetime, sms: Sms, *, urgent: bool = False) -> datetime | None:
    """`OutboundMessage.not_before` for a text: None when urgent or outside quiet hours."""
    return None if urgent else quiet_until(now, sms)
