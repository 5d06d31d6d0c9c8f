"""What a probe's acknowledgement must carry (CONTACT, ACK-2): the checks pass on every
acknowledgement Doorstep composes, and name what is missing from one that lacks it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from actions.acknowledge import AckContext, Composer
from bot.domain.references import new_reference
from bot.probe.checks import problems
from bot.settings import Settings

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)  # a Monday


@pytest.mark.parametrize("channel", ["email", "sms", "webchat"])
@pytest.mark.parametrize("topic", ["general", "repair", "asb"])
def test_every_composed_acknowledgement_passes(channel: str, topic: str) -> None:
    settings = Settings()
    composer = Composer(settings.organisation)
    reference = new_reference("DS")
    text = composer.acknowledgement(
        AckContext(
            reference=reference,
            topic=topic,
            urgency="routine",
            owner_name="the Customer Services team",
            deadline=NOW + timedelta(days=14),
            now=NOW,
        ),
        channel=channel,
    )
    # The chat shows the phone number in its header, not in every message (CONTACT).
    around = settings.organisation.phone if channel == "webchat" else ""
    assert problems(text, settings, reference, around=around) == [], text
    if channel == "webchat":
        assert problems(text, settings, reference) == [
            "no way to get in touch (phone, email or website)"
        ]


def test_what_is_missing_is_named() -> None:
    settings = Settings()
    reference = new_reference("DS")
    assert problems("", settings, reference) == ["the acknowledgement was empty"]
    found = problems("Thank you for your message.", settings, reference)
    assert found == [
        f"no reference (expected {reference})",
        "no deadline in words",
        "no way to get in touch (phone, email or website)",
    ]
    other = new_reference("DS")
    text = f"Your reference is {other}. We will answer by 5pm on Friday 11 December."
    assert problems(text, settings, reference)[0] == "a wrong reference"
    good = (
        f"Your reference is {reference}. We will answer by 5pm on Friday 11 December. "
        f"Call us on {settings.organisation.phone}."
    )
    assert problems(good, settings, reference) == []
    # A timestamp is not a deadline in words; a phone number split by spaces still counts.
    stamp = f"Ref {reference}. Due 2026-12-11T17:00. Call {settings.organisation.phone}."
    assert problems(stamp, settings, reference) == ["no deadline in words"]
