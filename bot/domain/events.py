"""What happened to an interaction: past-tense, typed events the aggregate records.

The repository writes each one to the event log (`events` table: `kind` and `detail()`),
which the dashboard's timeline and live updates read; handlers registered in
bot.service.handlers react to them after the change is saved.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import ClassVar

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]


@dataclass(frozen=True, slots=True)
class Event:
    kind: ClassVar[str] = "event"

    def detail(self) -> dict[str, JsonValue]:
        """The event as the event log stores it (JSON)."""
        return {f.name: _json(getattr(self, f.name)) for f in fields(self)}


def _json(value: object) -> JsonValue:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    return str(value)


@dataclass(frozen=True, slots=True)
class Replied(Event):
    kind: ClassVar[str] = "staff_replied"
    by: str
    channel: str
    met: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ClocksPaused(Event):
    kind: ClassVar[str] = "clocks_paused"
    by: str
    count: int


@dataclass(frozen=True, slots=True)
class ClocksResumed(Event):
    kind: ClassVar[str] = "clocks_resumed"
    by: str
    count: int


@dataclass(frozen=True, slots=True)
class ClocksStarted(Event):
    """Promises made: a clock for each policy (a new enquiry, a complaint stage, a hand-off
    to the appointments team)."""

    kind: ClassVar[str] = "clocks_started"
    by: str
    policies: tuple[str, ...]
    reason: str
    due_at: datetime  # when the first of them falls due


@dataclass(frozen=True, slots=True)
class ClocksKept(Event):
    """Promises kept by something that happened (the acknowledgement sent, the complaint
    acknowledged or answered): each clock ended met, or breached when late."""

    kind: ClassVar[str] = "clocks_kept"
    by: str
    policies: tuple[str, ...]
    reason: str
    ended: dict[str, str]  # policy -> met or breached


@dataclass(frozen=True, slots=True)
class ClockExtended(Event):
    kind: ClassVar[str] = "clock_extended"
    by: str
    policy: str
    days: int
    reason: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Transferred(Event):
    kind: ClassVar[str] = "transferred"
    by: str
    from_team: str
    from_owner: str | None
    team: str
    owner: str | None
    owner_name: str
    policy: str
    due_at: datetime
    note: str


@dataclass(frozen=True, slots=True)
class Taken(Event):
    kind: ClassVar[str] = "taken"
    by: str
    from_owner: str | None


@dataclass(frozen=True, slots=True)
class Reclassified(Event):
    kind: ClassVar[str] = "reclassified"
    by: str
    from_topic: str
    from_urgency: str
    topic: str
    urgency: str
    team: str


@dataclass(frozen=True, slots=True)
class HandoffRequested(Event):
    kind: ClassVar[str] = "handoff_requested"
    by: str
    reason: str
    team: str
    due_at: datetime
    extra: dict[str, str | bool] = field(default_factory=dict)  # the channel's own facts

    def detail(self) -> dict[str, JsonValue]:
        # The dashboard reads the channel's own keys (conversation_id, office_open) flat.
        flat: dict[str, JsonValue] = dict(self.extra)
        flat.update(by=self.by, reason=self.reason, team=self.team, due_at=self.due_at.isoformat())
        return flat


@dataclass(frozen=True, slots=True)
class Closed(Event):
    kind: ClassVar[str] = "closed"
    by: str
    outcome: str
    told: bool
    settled: dict[str, str]  # policy -> how its clock ended
    automatic: bool = False

    def detail(self) -> dict[str, JsonValue]:
        out: dict[str, JsonValue] = {
            "by": self.by,
            "outcome": self.outcome,
            "told": self.told,
            "stopped": list(self.settled),
            "settled": dict(self.settled),
        }
        if self.automatic:
            out["automatic"] = True
        return out


@dataclass(frozen=True, slots=True)
class ClosedAutomatically(Closed):
    """The assistant dealt with it completely (HELP answered, an appointment confirmed)."""

    kind: ClassVar[str] = "closed_automatically"


@dataclass(frozen=True, slots=True)
class Reopened(Event):
    kind: ClassVar[str] = "reopened"
    by: str
    reason: str
    policy: str | None
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class FollowedUp(Event):
    """A message came after the reopening window: a new interaction, linked to this one."""

    kind: ClassVar[str] = "followed_up"
    by: str
    new_interaction_id: int
    new_reference: str
