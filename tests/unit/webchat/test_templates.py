"""The chat's wording: short, plain, the deadline in words, the emergency route (CONTACT,
EMERGENCY, HOURS, HANDOFF)."""

from __future__ import annotations

from datetime import UTC, datetime

from actions.acknowledge import AckContext, Composer
from bot.settings import Organisation

ORG = Organisation()
NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)
DUE = datetime(2026, 12, 11, 17, 0, tzinfo=UTC)


def _composer() -> Composer:
    return Composer(ORG)


def test_acknowledgement_is_short_and_has_the_reference_and_deadline() -> None:
    ctx = AckContext("DS-2026-000001", "repair", "routine", "Repairs team", DUE, NOW)
    text = _composer().acknowledgement(ctx, channel="webchat")
    assert "Your reference is DS-2026-000001." in text
    assert "Repairs team will reply by 5pm on Friday 11 December." in text
    assert "Dear" not in text and len(text.splitlines()) <= 4


def test_gas_signpost_in_the_chat() -> None:
    ctx = AckContext(
        "DS-2026-000001", "repair", "emergency", "Repairs team", DUE, NOW, hazard_signposts=("gas",)
    )
    assert "0800 111 999" in _composer().acknowledgement(ctx, channel="webchat")


def test_closed_text_gives_hours_and_emergency_route_once() -> None:
    closed = _composer().render(
        "chat_closed.txt.j2", channel="webchat", emergency_phone="0300 1", emergency_given=False
    )
    assert ORG.opening_hours_text in closed and "0300 1" in closed and "999" in closed
    given = _composer().render(
        "chat_closed.txt.j2", channel="webchat", emergency_phone="0300 1", emergency_given=True
    )
    assert "0300 1" not in given and "999" in given


def test_handoff_text_names_the_owner_and_the_deadline() -> None:
    text = _composer().render(
        "chat_handoff.txt.j2",
        channel="webchat",
        reference="DS-2026-000001",
        owner_name="Repairs team",
        deadline="by 5pm on Friday 11 December",
        office_open=False,
        already=False,
        emergency_phone="0300 000 0999",
    )
    assert "I have asked Repairs team to pick this up" in text
    assert "by 5pm on Friday 11 December" in text
    assert "Our office is closed now" in text and "0300 000 0999" in text


def test_greeting_gives_the_emergency_route() -> None:
    text = _composer().render("chat_welcome.txt.j2", channel="webchat", emergency_phone="0300 9")
    assert "0300 9" in text and "999" in text
