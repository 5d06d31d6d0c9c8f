"""SLA clocks: one per interaction and promise, immutable values that storage persists.

A clock's due time is always derivable from its fields: the policy's deadline from
`started_at` with `extended_days` more units, moved later by `paused_seconds` (office
seconds for working-day policies, elapsed seconds for the others). Pausing (waiting on the
resident) therefore never shortens a clock, and resuming adds exactly the paused working
time. Every method returns a new Clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from sla.calendar import LONDON, Calendar, to_london, to_utc
from sla.errors import SlaError
from sla.policies import Policy


class ClockState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    DUE_SOON = "due_soon"
    BREACHED = "breached"
    MET = "met"
    NOT_MET = "not_met"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"


# How a stopped clock ended. Only MET is a promise kept in time; BREACHED is kept late;
# NOT_MET was never kept; WITHDRAWN (the resident withdrew, a duplicate) and SUPERSEDED (a
# newer promise replaced it) are not counted as kept or broken.
MET = "met"
BREACHED = "breached"
NOT_MET = "not_met"
WITHDRAWN = "withdrawn"
SUPERSEDED = "superseded"
SETTLEMENTS = (MET, BREACHED, NOT_MET, WITHDRAWN, SUPERSEDED)


@dataclass(frozen=True, slots=True)
class Clock:
    policy: str
    started_at: datetime
    due_at: datetime
    warn_at: datetime
    paused_at: datetime | None = None
    paused_seconds: float = 0.0
    extended_days: int = 0  # in the policy's unit (days for day-based policies)
    extension_reason: str | None = None
    stopped_at: datetime | None = None
    outcome: str | None = None  # one of SETTLEMENTS once stopped
    outcome_reason: str | None = None  # why it ended so (shown to staff and in reports)

    @classmethod
    def start(cls, policy: Policy, at: datetime, calendar: Calendar) -> Clock:
        started = to_london(at)
        due = policy.deadline(started, calendar)
        return cls(
            policy=policy.name,
            started_at=started,
            due_at=due,
            warn_at=policy.warn_at(due, started, calendar),
        )

    # ---- state

    @property
    def is_open(self) -> bool:
        return self.stopped_at is None

    def state(self, now: datetime) -> ClockState:
        if self.stopped_at is not None:
            try:
                return ClockState(self.outcome or BREACHED)
            except ValueError:
                return ClockState.BREACHED
        if self.paused_at is not None:
            return ClockState.PAUSED
        moment = to_utc(now)
        if moment > to_utc(self.due_at):
            return ClockState.BREACHED
        if moment >= to_utc(self.warn_at):
            return ClockState.DUE_SOON
        return ClockState.RUNNING

    # ---- changes

    def pause(self, at: datetime) -> Clock:
        """Waiting on the resident: the clock stops ticking until resumed."""
        self._check_open("pause")
        if self.paused_at is not None:
            return self
        return replace(self, paused_at=max(to_london(at), to_london(self.started_at), key=to_utc))

    def resume(self, at: datetime, policy: Policy, calendar: Calendar) -> Clock:
        """Ticking again; the due time moves later by the working time spent paused."""
        self._check_open("resume")
        if self.paused_at is None:
            return self
        self._check_policy(policy)
        if policy.elapsed:
            gap = max((to_utc(at) - to_utc(self.paused_at)).total_seconds(), 0.0)
        else:
            gap = calendar.working_seconds_between(self.paused_at, at)
        return self._recomputed(
            policy,
            calendar,
            paused_at=None,
            paused_seconds=self.paused_seconds + gap,
        )

    def extend(self, days: int, reason: str, policy: Policy, calendar: Calendar) -> Clock:
        """Extend by `days` units of the policy, with a reason, within its allowed limit.

        Raises SlaError (a ValueError) when the policy allows no more, or the input is bad.
        """
        self._check_open("extend")
        self._check_policy(policy)
        if isinstance(days, bool) or not isinstance(days, int) or days <= 0:
            raise SlaError(f"an extension must be a whole number of days above 0, not {days!r}")
        if not reason or not reason.strip():
            raise SlaError("an extension needs a reason the resident can be told")
        total = self.extended_days + days
        if total > policy.max_extension:
            left = policy.max_extension - self.extended_days
            raise SlaError(
                f"policy {policy.name} allows at most {policy.max_extension} "
                f"{policy.unit.value.replace('_', ' ')} of extension; {left} left"
            )
        reasons = f"{self.extension_reason}; {reason.strip()}" if self.extension_reason else reason
        return self._recomputed(
            policy, calendar, extended_days=total, extension_reason=reasons.strip()
        )

    def stop(self, at: datetime, reason: str | None = None) -> Clock:
        """The promise was kept at `at`: met when kept by the due time, else breached (late).

        A paused clock is judged at the moment it was paused: its due time would have moved
        on by the pause."""
        if self.stopped_at is not None:
            return self
        stopped = to_london(at)
        judged = self.paused_at if self.paused_at is not None else stopped
        outcome = MET if to_utc(judged) <= to_utc(self.due_at) else BREACHED
        return replace(self, stopped_at=stopped, outcome=outcome, outcome_reason=reason)

    def settle(self, at: datetime, outcome: str, reason: str) -> Clock:
        """End the clock as what happened: kept (`met`, judged by `stop`), `not_met`,
        `withdrawn` or `superseded`, with the reason. Only a kept promise can count as met."""
        if outcome not in SETTLEMENTS:
            raise SlaError(f"a clock ends as one of {', '.join(SETTLEMENTS)}, not {outcome!r}")
        if not reason or not reason.strip():
            raise SlaError("say why the clock ended")
        if self.stopped_at is not None:
            return self
        if outcome in (MET, BREACHED):
            return self.stop(at, reason.strip())
        return replace(
            self, stopped_at=to_london(at), outcome=outcome, outcome_reason=reason.strip()
        )

    # ---- internals

    def _recomputed(self, policy: Policy, calendar: Calendar, **changes: object) -> Clock:
        draft = replace(self, **changes)  # type: ignore[arg-type]
        base = policy.deadline(draft.started_at, calendar, extra=draft.extended_days)
        if not draft.paused_seconds:
            due = base
        elif policy.elapsed:
            due = (to_utc(base) + timedelta(seconds=draft.paused_seconds)).astimezone(LONDON)
        else:
            due = calendar.add_working_seconds(base, draft.paused_seconds)
        return replace(draft, due_at=due, warn_at=policy.warn_at(due, draft.started_at, calendar))

    def _check_open(self, action: str) -> None:
        if self.stopped_at is not None:
            raise SlaError(f"cannot {action} a stopped clock ({self.policy}, {self.outcome})")

    def _check_policy(self, policy: Policy) -> None:
        if policy.name != self.policy:
            raise SlaError(f"clock runs on policy {self.policy}, not {policy.name}")
