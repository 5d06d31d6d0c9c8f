"""The Interaction aggregate: the only code that changes an interaction's status, team,
owner, topic, urgency and clocks.

No I/O: an `Interaction` is loaded by a repository (bot.domain.repository), changed through
its methods, which check the change is allowed and record what happened as typed events
(bot.domain.events), and saved by the same repository, which also writes the events to the
event log the dashboard reads. Clocks are `sla.Clock` values; the rules for starting and
resuming them (policies and the working-day calendar) are passed in.

Honest settlement (domain.md, MONITOR): a clock only counts as met when its promise was kept
(the acknowledgement sent, the response given, the hazard made safe as recorded by staff).
Closing a case keeps no promise by itself: `close` needs a settlement for every clock still
open, and `settlements_on_close` proposes the honest default for each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.domain import events as ev
from bot.errors import ConflictError, InvalidError
from sla import Calendar, Clock, Policy
from sla.clock import MET, NOT_MET, SUPERSEDED, WITHDRAWN


class Status(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ClockRules(Protocol):
    """What starting and resuming a clock needs (bot.service.clocks.ClockService has it)."""

    @property
    def calendar(self) -> Calendar: ...

    def policy(self, name: str) -> Policy: ...


# How staff may say a promise ended when they close a case (the close form's choices).
KEPT = MET
SETTLEMENT_CHOICES: dict[str, str] = {
    KEPT: "Kept",
    NOT_MET: "Not kept",
    WITHDRAWN: "Withdrawn (no longer wanted)",
    SUPERSEDED: "Replaced by another promise",
}

# Clocks a message to the resident does not keep: the full answer (RESP-10), Awaab's Law
# hazards (made safe / investigated is work, not a message) and the complaint stages, which
# the complaint workflow stops itself.
NOT_KEPT_BY_A_MESSAGE = ("respond-10", "awaab-", "complaint-")
# Outcomes of a close that are the full response RESP-10 asks for, when the resident is told.
# Clocks that are about acknowledging, not answering, and Awaab's Law's make-safe and
# investigate clocks (work on the home, not a reply): neither is "when we will reply".
ACK_POLICIES = ("ack-2", "email-ack-now", "complaint-procedure-1")
NOT_A_REPLY = ("awaab-",)
FULL_RESPONSE_OUTCOMES = frozenset(
    {"resolved", "repair_booked", "information_given", "referred", "answered"}
)


@dataclass(frozen=True, slots=True)
class Settlement:
    """How one clock ended: `outcome` is one of SETTLEMENT_CHOICES, `reason` says why."""

    outcome: str
    reason: str

    def __post_init__(self) -> None:
        if self.outcome not in SETTLEMENT_CHOICES:
            raise InvalidError(f"Choose what happened to the promise, not {self.outcome!r}.")
        if not self.reason.strip():
            raise InvalidError("Say why the promise ended so.")


@dataclass(slots=True)
class PromiseClock:
    """A clock of this interaction; `id` is None until the repository stores it."""

    id: int | None
    promise: str
    clock: Clock
    changed: bool = False

    @property
    def policy(self) -> str:
        return self.clock.policy


@dataclass
class Interaction:
    id: int
    reference: str
    channel: str
    topic: str
    urgency: str
    team: str
    owner: str | None
    status: str = Status.OPEN
    intent: str | None = None
    subject: str | None = None
    complaint_stage: int | None = None
    outcome: str | None = None
    updated_at: datetime | None = None
    clocks: list[PromiseClock] = field(default_factory=list)
    events: list[ev.Event] = field(default_factory=list)
    changed: set[str] = field(default_factory=set)

    # ---- state -----------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        return self.status == Status.CLOSED

    def open_clocks(self, policies: Iterable[str] | None = None) -> list[PromiseClock]:
        wanted = None if policies is None else set(policies)
        return [
            c for c in self.clocks if c.clock.is_open and (wanted is None or c.policy in wanted)
        ]

    def reply_due(self, rules: ClockRules, at: datetime) -> datetime:
        """When we will reply, as the resident should be told (HANDOFF, RESP-10): the
        earliest open promise to answer (not merely to acknowledge, and not Awaab's Law's
        24-hour make-safe clock, which is work on the home), else when RESP-10 would be due
        from `at`. A question only: nothing changes."""
        running = [
            c.clock.due_at
            for c in self.open_clocks()
            if c.policy not in ACK_POLICIES and not c.policy.startswith(NOT_A_REPLY)
        ]
        if running:
            return min(running)
        return Clock.start(rules.policy("respond-10"), at, rules.calendar).due_at

    def require_open(self) -> None:
        if self.is_closed:
            raise ConflictError(f"{self.reference} is closed.")

    # ---- clocks ----------------------------------------------------------------------

    def start_clock(self, rules: ClockRules, policy: str, at: datetime) -> Clock:
        clock = self._new_clock(rules, policy, at)
        self._touch(at)
        return clock

    def make_promises(
        self,
        rules: ClockRules,
        policies: Iterable[str],
        *,
        by: str,
        reason: str,
        at: datetime,
        since: datetime | None = None,
    ) -> list[Clock]:
        """Start a clock for each policy and record `ClocksStarted`. The clocks count from
        `since` when given (a new enquiry's promises run from when the resident wrote, not
        from when we got round to it), else from `at`."""
        names = tuple(policies)
        started = [self._new_clock(rules, name, since or at) for name in names]
        if started:
            due_at = min(c.due_at for c in started)
            self._record(ev.ClocksStarted(by=by, policies=names, reason=reason, due_at=due_at), at)
        return started

    def keep_promises(
        self, policies: Iterable[str], *, by: str, reason: str, at: datetime
    ) -> dict[str, str]:
        """What just happened kept the promises of these clocks (the acknowledgement was
        sent, the complaint acknowledged or answered): each ends met, or breached when late,
        and `ClocksKept` is recorded. Returns policy -> outcome; empty when none was open."""
        tracked = self.open_clocks(policies)
        for item in tracked:
            self._replace(item, item.clock.stop(at, reason))
        ended = {item.policy: item.clock.outcome or "" for item in tracked}
        if ended:
            self._record(
                ev.ClocksKept(by=by, policies=tuple(ended), reason=reason, ended=ended), at
            )
        return ended

    def extend_clock(
        self, rules: ClockRules, policy: str, *, days: int, reason: str, by: str, at: datetime
    ) -> Clock | None:
        """Put a promise back by `days` units of its policy, with a reason, within what the
        policy allows (sla.SlaError otherwise). None when no such clock is running."""
        for tracked in self.open_clocks((policy,)):
            clock = tracked.clock.extend(days, reason, rules.policy(policy), rules.calendar)
            self._replace(tracked, clock)
            self._record(
                ev.ClockExtended(
                    by=by, policy=policy, days=days, reason=reason, due_at=clock.due_at
                ),
                at,
            )
            return clock
        return None

    def resident_answered(self, rules: ClockRules, *, at: datetime) -> int:
        """The resident wrote on this case: clocks paused while we waited on them tick
        again (`ClocksResumed` by the resident). Returns how many resumed."""
        return self.resume(rules, by="resident", at=at)

    def keep(self, policies: Iterable[str], at: datetime, reason: str) -> list[str]:
        """The promises of these clocks were kept at `at` (met, or breached when late)."""
        kept = []
        for tracked in self.open_clocks(policies):
            self._replace(tracked, tracked.clock.stop(at, reason))
            kept.append(tracked.policy)
        return kept

    def settle(self, policy: str, settlement: Settlement, at: datetime) -> None:
        for tracked in self.open_clocks((policy,)):
            self._replace(tracked, tracked.clock.settle(at, settlement.outcome, settlement.reason))

    def pause(self, *, by: str, at: datetime) -> int:
        """Waiting on the resident: every running clock stops ticking."""
        self.require_open()
        count = 0
        for tracked in self.open_clocks():
            if tracked.clock.paused_at is None:
                self._replace(tracked, tracked.clock.pause(at))
                count += 1
        if count:
            self._record(ev.ClocksPaused(by=by, count=count), at)
        return count

    def resume(self, rules: ClockRules, *, by: str | None, at: datetime) -> int:
        """Ticking again: staff resumed them, or the resident answered (`by` "resident");
        `by` None changes the clocks without an event (kept for callers that record their own)."""
        count = 0
        for tracked in self.open_clocks():
            if tracked.clock.paused_at is not None:
                policy = rules.policy(tracked.policy)
                self._replace(tracked, tracked.clock.resume(at, policy, rules.calendar))
                count += 1
        if count and by is not None:
            self._record(ev.ClocksResumed(by=by, count=count), at)
        return count

    # ---- what people do --------------------------------------------------------------

    def replied(self, *, by: str, at: datetime) -> list[str]:
        """Staff answered the resident: the clocks a message keeps are met (SAME-CHANNEL)."""
        self.require_open()
        met = [
            c.policy for c in self.open_clocks() if not c.policy.startswith(NOT_KEPT_BY_A_MESSAGE)
        ]
        self.keep(met, at, "staff replied")
        self._record(ev.Replied(by=by, channel=self.channel, met=tuple(met)), at)
        return met

    def transfer(
        self,
        rules: ClockRules,
        *,
        team: str,
        owner: str | None,
        owner_name: str,
        policy: str,
        note: str,
        by: str,
        at: datetime,
    ) -> Clock:
        """HANDOFF: the previous owner's hand-off clock is superseded by a fresh one."""
        self.require_open()
        if (self.team, self.owner) == (team, owner):
            raise ConflictError(f"{self.reference} is already with {owner_name}.")
        for tracked in self.open_clocks():
            if tracked.policy.startswith("handoff-"):
                self.settle(tracked.policy, Settlement(SUPERSEDED, f"passed to {owner_name}"), at)
        clock = self.start_clock(rules, policy, at)
        from_team, from_owner = self.team, self.owner
        self._set("team", team)
        self._set("owner", owner)
        self._record(
            ev.Transferred(
                by=by,
                from_team=from_team,
                from_owner=from_owner,
                team=team,
                owner=owner,
                owner_name=owner_name,
                policy=policy,
                due_at=clock.due_at,
                note=note.strip()[:2000],
            ),
            at,
        )
        return clock

    def take(self, *, owner: str, at: datetime) -> None:
        """A member of staff takes it within their own team: no new clock."""
        self.require_open()
        previous = self.owner
        self._set("owner", owner.lower())
        self._record(ev.Taken(by=owner, from_owner=previous), at)

    def reclassify(
        self,
        *,
        topic: str,
        urgency: str,
        intent: str | None,
        team: str | None,
        by: str,
        at: datetime,
    ) -> None:
        """The conversation found the real topic (and, unowned, the right team)."""
        before = (self.topic, self.urgency)
        self._set("topic", topic)
        self._set("urgency", urgency)
        if intent:
            self._set("intent", intent[:40])
        if team is not None:
            self._set("team", team)
        self._record(
            ev.Reclassified(
                by=by,
                from_topic=before[0],
                from_urgency=before[1],
                topic=topic,
                urgency=urgency,
                team=self.team,
            ),
            at,
        )

    def assign(
        self,
        *,
        team: str | None = None,
        owner: str | None = None,
        clear_owner: bool = False,
        topic: str | None = None,
        subject: str | None = None,
        complaint_stage: int | None = None,
        at: datetime,
    ) -> None:
        """Routing a feature decided (appointments, the complaint procedure); the feature
        records its own, richer event."""
        if team is not None:
            self._set("team", team)
        if owner is not None or clear_owner:
            self._set("owner", owner)
        if topic is not None:
            self._set("topic", topic)
        if subject is not None:
            self._set("subject", subject)
        if complaint_stage is not None:
            self._set("complaint_stage", complaint_stage)
        self._touch(at)

    def request_handoff(
        self,
        rules: ClockRules,
        *,
        policy: str,
        reason: str,
        by: str,
        at: datetime,
        detail: Mapping[str, str | bool] | None = None,
        already: bool = False,
    ) -> datetime:
        """The resident asked for a person: the case is (re)opened in its team's queue with
        a hand-off clock (HANDOFF). Returns when the earliest running clock is due."""
        # Not an acknowledgement's clock: an acknowledgement not sent yet is no reply.
        running = [
            c
            for c in self.open_clocks()
            if not c.policy.startswith(NOT_KEPT_BY_A_MESSAGE) and c.policy not in ACK_POLICIES
        ]
        if running:
            due_at = min(c.clock.due_at for c in running)
        else:
            due_at = self.start_clock(rules, policy, at).due_at
        if not already:
            self._set("status", Status.OPEN)
            self._record(
                ev.HandoffRequested(
                    by=by, reason=reason, team=self.team, due_at=due_at, extra=dict(detail or {})
                ),
                at,
            )
        return due_at

    def close(
        self,
        *,
        outcome: str,
        text: str,
        settlements: Mapping[str, Settlement],
        by: str,
        at: datetime,
        told: bool,
        automatic: bool = False,
    ) -> dict[str, str]:
        """Close with an outcome; every clock still open ends as `settlements` says.

        Returns policy -> how it ended. Refuses when an open clock has no settlement: a
        promise nobody kept must not be reported as met."""
        self.require_open()
        missing = [c.policy for c in self.open_clocks() if c.policy not in settlements]
        if missing:
            raise InvalidError(f"Say what happened to each open promise: {', '.join(missing)}.")
        for tracked in self.open_clocks():
            self.settle(tracked.policy, settlements[tracked.policy], at)
        ended = {
            c.policy: c.clock.outcome or ""
            for c in self.clocks
            if c.changed and c.policy in settlements
        }
        self._set("status", Status.CLOSED)
        self._set("outcome", text[:4000])
        closed = ev.ClosedAutomatically if automatic else ev.Closed
        self._record(
            closed(by=by, outcome=outcome, told=told, settled=ended, automatic=automatic), at
        )
        return ended

    def reopen(
        self,
        rules: ClockRules | None = None,
        *,
        by: str,
        at: datetime,
        reason: str,
        policy: str | None = None,
    ) -> Clock | None:
        """Open again (staff, or a message on a closed case), with a response clock when
        `policy` is given. The owner and team are kept: it returns to the same queue."""
        if not self.is_closed:
            raise ConflictError(f"{self.reference} is open.")
        self._set("status", Status.OPEN)
        clock = None
        if policy is not None and rules is not None:
            clock = self.start_clock(rules, policy, at)
        self._record(
            ev.Reopened(
                by=by, reason=reason, policy=policy, due_at=clock.due_at if clock else None
            ),
            at,
        )
        return clock

    def followed_up(self, new_id: int, new_reference: str) -> None:
        """The resident wrote after the reopening window: a new case, linked to this one.
        The closed case itself does not change (its last change stays the close)."""
        self.events.append(
            ev.FollowedUp(by="resident", new_interaction_id=new_id, new_reference=new_reference)
        )

    # ---- internals -------------------------------------------------------------------

    def _new_clock(self, rules: ClockRules, policy: str, at: datetime) -> Clock:
        chosen = rules.policy(policy)
        clock = Clock.start(chosen, at, rules.calendar)
        self.clocks.append(PromiseClock(None, chosen.promise, clock, changed=True))
        return clock

    def _replace(self, tracked: PromiseClock, clock: Clock) -> None:
        if clock != tracked.clock:
            tracked.clock = clock
            tracked.changed = True

    def _set(self, name: str, value: object) -> None:
        if getattr(self, name) != value:
            setattr(self, name, value)
            self.changed.add(name)

    def _touch(self, at: datetime) -> None:
        if self.updated_at != at:  # a case changed twice in one moment is written once
            self.updated_at = at
            self.changed.add("updated_at")

    def _record(self, event: ev.Event, at: datetime) -> None:
        self._touch(at)
        self.events.append(event)


def settlements_on_close(
    interaction: Interaction, outcome: str, *, told: bool, label: str
) -> dict[str, Settlement]:
    """The honest default for each open clock when a case is closed as `outcome`.

    - withdrawn by the resident: withdrawn; a duplicate: superseded by the other case;
    - told the resident: the clocks a message keeps are kept, and RESP-10 too when the
      outcome is a full response;
    - no response from the resident: the answers we owe are withdrawn;
    - anything else: not met. Awaab's Law and complaint clocks are never kept by closing:
      staff say so explicitly (the close form asks for each)."""
    chosen: dict[str, Settlement] = {}
    for tracked in interaction.open_clocks():
        policy = tracked.policy
        by_message = not policy.startswith(NOT_KEPT_BY_A_MESSAGE)
        if outcome == "withdrawn":
            chosen[policy] = Settlement(WITHDRAWN, f"closed: {label}")
        elif outcome == "duplicate":
            chosen[policy] = Settlement(SUPERSEDED, f"closed: {label}")
        elif told and (
            by_message or (policy == "respond-10" and outcome in FULL_RESPONSE_OUTCOMES)
        ):
            chosen[policy] = Settlement(KEPT, f"closed: {label}; the resident was told")
        elif outcome == "no_response" and by_message:
            chosen[policy] = Settlement(WITHDRAWN, f"closed: {label}")
        else:
            chosen[policy] = Settlement(NOT_MET, f"closed as {label} without keeping it")
    return chosen
