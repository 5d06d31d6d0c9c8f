"""Published performance figures (MONITOR) from stored clocks: the share of promises kept.

A clock counts in the period [start, end) in which its outcome was decided:

- met: when it was stopped because its promise was kept (at or before its due time, or while
  paused before it). Closing a case does not keep a promise: staff say, for each clock still
  open, whether it was kept, not met, withdrawn or superseded (bot.domain.interaction);
- breached: when its due time passed unmet, whether it has since been kept late or is still
  open; a clock settled as not met counts at its due time or when it was settled, whichever
  came first. A late answer given next month does not move last month's breach;
- set aside: withdrawn (the resident withdrew, a duplicate) or superseded (a newer promise
  replaced it), counted neither as met nor as missed, at the time it was settled.

Clocks not yet decided are not counted: open clocks whose due time has not passed by `now`
(or by the period's end, whichever is earlier), and paused clocks (waiting on the resident:
their due time moves on when they resume) unless they were paused when already late. A past
period's figures therefore do not change once the period is over.

- The '2-ten' figure: acknowledgement clocks (ACK-2, EMAIL-NOW's immediate acknowledgement,
  SOCIAL) met, and RESP-10 clocks met.
- CH02 (Tenant Satisfaction Measures): complaints answered within the Code's timescales, for
  stage 1 and stage 2 separately (the complaint-stage*-response clocks).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sla.calendar import to_utc
from sla.clock import BREACHED, MET, NOT_MET, SUPERSEDED, WITHDRAWN

SET_ASIDE = "set_aside"
GROUPS = ("policy", "promise", "channel", "topic")

ACKNOWLEDGEMENT_POLICIES = ("ack-2", "email-ack-now", "social")
HEADLINES: dict[str, tuple[str, ...]] = {
    "2-ten: acknowledged in time": ACKNOWLEDGEMENT_POLICIES,
    "2-ten: full response in 10 working days": ("respond-10",),
    "CH02: stage 1 complaints answered in time": ("complaint-stage1-response",),
    "CH02: stage 2 complaints answered in time": ("complaint-stage2-response",),
    "complaints procedure sent in 1 working day": ("complaint-procedure-1",),
}


@dataclass(frozen=True, slots=True)
class ClockRecord:
    """What a report needs of a stored clock."""

    policy: str
    promise: str
    channel: str | None
    topic: str | None
    due_at: datetime
    stopped_at: datetime | None
    outcome: str | None
    paused_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ReportRow:
    key: tuple[str, ...]
    met: int
    breached: int
    set_aside: int = 0  # withdrawn or superseded: neither met nor missed

    @property
    def decided(self) -> int:
        return self.met + self.breached

    @property
    def share_met(self) -> float | None:
        """Met / decided, or None when nothing was decided."""
        return self.met / self.decided if self.decided else None


def decided_in(
    record: ClockRecord, start: datetime, end: datetime, now: datetime | None = None
) -> str | None:
    """ "met", "breached" or "set_aside" when the clock was decided in [start, end), else None.

    `now` is the time of the report: an open clock is not breached before its due time has
    passed. None treats the period as over (judged at `end`)."""
    low, high = to_utc(start), to_utc(end)
    due = to_utc(record.due_at)
    if record.stopped_at is not None:
        stopped = to_utc(record.stopped_at)
        if record.outcome == MET:
            return MET if low <= stopped < high else None
        if record.outcome in (WITHDRAWN, SUPERSEDED):
            return SET_ASIDE if low <= stopped < high else None
        if record.outcome == NOT_MET:
            return BREACHED if low <= min(due, stopped) < high else None
        return BREACHED if low <= due < high else None
    if record.paused_at is not None and to_utc(record.paused_at) <= due:
        return None  # waiting on the resident and not late: its due time will move on
    cutoff = high if now is None else min(high, to_utc(now))
    return BREACHED if low <= due < cutoff else None


def share_met(
    records: Iterable[ClockRecord],
    start: datetime,
    end: datetime,
    by: Sequence[str] = ("policy",),
    now: datetime | None = None,
) -> list[ReportRow]:
    """Clocks decided in [start, end), grouped by any of GROUPS, sorted by key.

    `now`: the time of the report (open clocks not yet due then are not counted); None
    treats the period as over."""
    for name in by:
        if name not in GROUPS:
            raise ValueError(f"cannot group by {name!r}; accepted: {', '.join(GROUPS)}")
    counts: dict[tuple[str, ...], list[int]] = {}
    for record in records:
        verdict = decided_in(record, start, end, now)
        if verdict is None:
            continue
        key = tuple(str(getattr(record, name) or "-") for name in by)
        tally = counts.setdefault(key, [0, 0, 0])
        tally[{MET: 0, BREACHED: 1, SET_ASIDE: 2}[verdict]] += 1
    return [ReportRow(key, *tally) for key, tally in sorted(counts.items())]


def headlines(
    records: Iterable[ClockRecord],
    start: datetime,
    end: datetime,
    now: datetime | None = None,
) -> list[ReportRow]:
    """The published figures ('2-ten', CH02, the complaints procedure) for a period."""
    by_policy = {row.key[0]: row for row in share_met(records, start, end, ("policy",), now)}
    rows = []
    for label, policies in HEADLINES.items():
        met = sum(by_policy[p].met for p in policies if p in by_policy)
        breached = sum(by_policy[p].breached for p in policies if p in by_policy)
        aside = sum(by_policy[p].set_aside for p in policies if p in by_policy)
        rows.append(ReportRow((label,), met, breached, aside))
    return rows
