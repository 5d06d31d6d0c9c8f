"""The queue's pure parts: clock states, time left, who sees what, cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from bot.web.dashboard import queries
from bot.web.dashboard.auth import StaffUser

NOW = datetime(2026, 12, 21, 12, 0, tzinfo=UTC)


def user(role: str, team: str | None = "repairs") -> StaffUser:
    return StaffUser(1, f"{role}@example.org", role.title(), role, team, True)


@pytest.mark.parametrize(
    ("due", "warn", "paused", "stopped", "state"),
    [
        (NOW + timedelta(days=2), NOW + timedelta(days=1), None, None, "due"),
        (NOW + timedelta(hours=2), NOW - timedelta(hours=1), None, None, "due_soon"),
        (NOW - timedelta(minutes=1), NOW - timedelta(hours=5), None, None, "breached"),
        (NOW - timedelta(minutes=1), NOW - timedelta(hours=5), NOW, None, "paused"),
        (NOW - timedelta(minutes=1), NOW - timedelta(hours=5), None, NOW, "stopped"),
    ],
)
def test_clock_state(
    due: datetime, warn: datetime, paused: datetime | None, stopped: datetime | None, state: str
) -> None:
    got = queries.clock_state(
        due_at=due, warn_at=warn, paused_at=paused, stopped_at=stopped, now=NOW
    )
    assert got == state


def test_time_left_in_words() -> None:
    assert queries.time_left(NOW + timedelta(days=2, hours=3), NOW) == "2 days 3 hours left"
    assert queries.time_left(NOW + timedelta(minutes=40), NOW) == "40 minutes left"
    assert queries.time_left(NOW - timedelta(hours=5), NOW) == "5 hours late"
    assert queries.time_left(NOW + timedelta(days=9, hours=3), NOW) == "9 days left"


def test_agents_see_their_team_only() -> None:
    scope = queries.scope_for(user("agent"), "all", "asb")
    assert (scope.view, scope.team) == ("team", "repairs")
    mine = queries.scope_for(user("agent"), "mine", None)
    assert (mine.view, mine.team, mine.me) == ("mine", None, "agent@example.org")


def test_team_lead_defaults_to_everything_unowned() -> None:
    scope = queries.scope_for(user("team_lead"), None, None)
    assert (scope.view, scope.team) == ("unowned", None)
    assert queries.scope_for(user("team_lead"), "unowned", "asb").team == "asb"


def test_complaints_handler_defaults_to_complaints() -> None:
    scope = queries.scope_for(user("complaints_handler", None), None, "repairs")
    assert (scope.view, scope.team) == ("complaints", None)


def test_admin_sees_everything() -> None:
    assert queries.scope_for(user("admin", None), None, None).view == "all"


def test_can_see() -> None:
    row = SimpleNamespace(owner=None, team="asb", topic="repair")
    assert not queries.can_see(user("agent"), row)
    assert queries.can_see(user("agent", "asb"), row)
    assert queries.can_see(user("team_lead"), row)
    assert not queries.can_see(user("complaints_handler", None), row)
    complaint = SimpleNamespace(owner=None, team="complaints", topic="complaint")
    assert queries.can_see(user("complaints_handler", None), complaint)
    owned = SimpleNamespace(owner="agent@example.org", team="asb", topic="repair")
    assert queries.can_see(user("agent"), owned)


def test_cursor_round_trip_and_garbage() -> None:
    text = queries._cursor(NOW, 42)
    assert queries.parse_cursor(text) == (NOW, 42)
    assert queries.parse_cursor("nonsense") is None
    assert queries.parse_cursor(None) is None


def test_queue_state_is_proportional_to_the_promise() -> None:
    soon = {
        "handoff-3": NOW + timedelta(hours=5),
        "complaint-stage2-response": NOW + timedelta(days=6),
    }
    far_warn = NOW + timedelta(days=30)  # the stored warning time no longer decides

    def state(policy: str, due: datetime, paused: datetime | None = None) -> str:
        return queries.queue_state(
            policy=policy, due_at=due, warn_at=far_warn, paused_at=paused, now=NOW,
            soon_until=soon,
        )  # fmt: skip

    assert state("complaint-stage2-response", NOW + timedelta(days=4)) == "due_soon"
    assert state("handoff-3", NOW + timedelta(days=4)) == "due"
    assert state("handoff-3", NOW + timedelta(hours=4)) == "due_soon"
    assert state("handoff-3", NOW - timedelta(seconds=1)) == "breached"
    assert state("handoff-3", NOW - timedelta(seconds=1), paused=NOW) == "paused"
    # A policy no longer configured: the warning time stored with the clock.
    assert state("retired-policy", NOW + timedelta(hours=1)) == "due"


def test_promises_day_policies_and_limits() -> None:
    promises = queries.default_promises()
    assert promises.day_policies() == ("awaab-emergency",)
    limits = promises.soon_until(NOW)
    assert limits["awaab-emergency"] - NOW == timedelta(hours=4, minutes=48)
    assert limits["respond-10"] > limits["handoff-3"] > NOW
