"""The live-chat decision with fakes (HANDOFF): in office hours with someone in the team
Available the chat goes live; nobody Available, the office closed or live chat turned off,
the resident gets the phone number and the deadline. And what the resident reads at each
step, in plain words. No database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from actions.acknowledge import Composer
from actions.wording import deadline_in_words
from bot.conversation.turns import TurnRunner
from bot.service.live import Decision, Route, choose, decide, quiet_while_person_in_chat
from bot.settings import Organisation
from bot.storage.live import is_available

ORG = Organisation()
NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)  # a Tuesday morning
DUE = datetime(2026, 12, 11, 17, 0, tzinfo=UTC)
TTL = timedelta(seconds=45)
IDLE = timedelta(minutes=10)


@dataclass
class FakeHours:
    open: bool

    def is_open(self, moment: datetime) -> bool:
        return self.open


@dataclass
class FakePresence:
    by_team: dict[str, int]
    asked: list[str] = field(default_factory=list)

    def available(self, team: str, now: datetime) -> int:
        self.asked.append(team)
        return self.by_team.get(team, 0)


def test_someone_available_in_office_hours_goes_live() -> None:
    presence = FakePresence({"repairs": 2})
    decision = choose(FakeHours(True), presence, team="repairs", now=NOW, enabled=True)
    assert decision == Decision(Route.LIVE, "someone in the team is available", 2)
    assert presence.asked == ["repairs"]


def test_nobody_available_in_the_team_means_phone() -> None:
    # Someone is Available, but in another team: need-to-know, and they would not know it.
    presence = FakePresence({"housing": 3})
    decision = choose(FakeHours(True), presence, team="repairs", now=NOW, enabled=True)
    assert decision.route is Route.PHONE and "nobody" in decision.reason


def test_out_of_hours_means_phone_without_asking_who_is_there() -> None:
    presence = FakePresence({"repairs": 5})
    decision = choose(FakeHours(False), presence, team="repairs", now=NOW, enabled=True)
    assert decision.route is Route.PHONE and "closed" in decision.reason
    assert presence.asked == []


def test_turned_off_means_phone() -> None:
    presence = FakePresence({"repairs": 5})
    decision = choose(FakeHours(True), presence, team="repairs", now=NOW, enabled=False)
    assert decision.route is Route.PHONE and presence.asked == []


@pytest.mark.parametrize(
    ("office_open", "available", "route"),
    [
        (True, 1, Route.LIVE),
        (True, 0, Route.PHONE),
        (False, 1, Route.PHONE),
        (False, 0, Route.PHONE),
    ],
)
def test_decide_table(office_open: bool, available: int, route: Route) -> None:
    assert decide(enabled=True, office_open=office_open, available=available).route is route


def test_presence_needs_a_choice_a_fresh_heartbeat_and_recent_use() -> None:
    assert is_available("available", NOW, NOW, NOW, TTL, IDLE)
    assert not is_available("away", NOW, NOW, NOW, TTL, IDLE)
    # The dashboard was closed: the last heartbeat is older than the window.
    assert not is_available("available", NOW - TTL - timedelta(seconds=1), NOW, NOW, TTL, IDLE)
    # Open but untouched for longer than the idle window.
    assert not is_available("available", NOW, NOW - IDLE - timedelta(seconds=1), NOW, TTL, IDLE)


# ---- what the resident reads -----------------------------------------------------------


def _render(name: str, **values: object) -> str:
    return (
        Composer(ORG).render(name, channel="webchat", reference="DS-2026-000123", **values).strip()
    )


@pytest.mark.parametrize(
    ("ahead", "opening"),
    [
        (0, "You are next in the queue."),
        (1, "There is 1 person before you in the queue."),
        (3, "There are 3 people before you in the queue."),
    ],
)
def test_the_resident_is_told_where_they_are_in_the_queue(ahead: int, opening: str) -> None:
    text = _render(
        "live_queued.txt.j2",
        ahead=ahead,
        team_name="the Repairs team",
        within="3 minutes",
        emergency=False,
    )
    assert text.startswith(opening)
    assert "Someone from the Repairs team will join this chat soon." in text
    assert "within 3 minutes" in text
    assert ORG.emergency_phone not in text  # routine: no alarm


def test_an_emergency_waiting_in_the_queue_is_told_not_to_wait() -> None:
    text = _render(
        "live_queued.txt.j2",
        ahead=0,
        team_name="the Repairs team",
        within="3 minutes",
        emergency=True,
    )
    assert f"call {ORG.emergency_phone} now. Do not wait for the chat." in text


def test_nobody_in_time_gives_the_phone_now_and_the_deadline_in_words() -> None:
    deadline = deadline_in_words(DUE, now=NOW)
    text = _render(
        "live_timeout.txt.j2",
        staff_name="",
        left=False,
        team_name="the Repairs team",
        deadline=deadline,
        office_open=True,
    )
    assert f"To talk to someone now, call us on {ORG.phone}" in text
    assert "the Repairs team will reply in this chat by 5pm on Friday 11 December." in text
    assert "DS-2026-000123" in text
    lines = [s for s in text.split(". ") if s]
    assert len(lines) == len(set(lines))  # nothing said twice


def test_joined_and_left_say_who() -> None:
    assert (
        _render("live_joined.txt.j2", staff_name="Jane", team_name="the Repairs team")
        == "Jane from the Repairs team has joined the chat."
    )
    left = _render(
        "live_ended.txt.j2",
        staff_name="Jane",
        left=True,
        team_name="the Repairs team",
        deadline="by 5pm on Friday 11 December",
        office_open=True,
    )
    assert left.startswith("Jane has had to leave the chat.")
    assert ORG.phone in left and "by 5pm on Friday 11 December" in left


def test_an_officers_line_is_shown_as_typed() -> None:
    typed = "Hello, I'm Jane. <b>Is the boiler</b> a combi?"
    assert _render("live_message.txt.j2", body=typed, staff_name="Jane") == typed


# ---- the assistant steps back while a person answers -------------------------------------


def test_the_engine_answers_when_no_case_is_known() -> None:
    @dataclass
    class Outcome:
        interaction_id: int | None = None

    @dataclass
    class Turn:
        outcome: Outcome

    # No case yet: not a live chat, so the keyword step passes the turn on to the engine.
    assert quiet_while_person_in_chat(Turn(Outcome()), None) is None  # type: ignore[arg-type]


def test_with_rasa_on_or_off_a_person_in_the_chat_comes_before_the_engine() -> None:
    from bot.settings import Rasa, Settings
    from channels import registry

    for settings in (Settings(rasa=Rasa(url="http://127.0.0.1:9")), Settings()):
        found = registry.turn_handlers(settings)[registry.Channel.WEBCHAT]
        assert isinstance(found, TurnRunner)
        assert found.keywords is quiet_while_person_in_chat
