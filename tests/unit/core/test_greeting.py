"""One greeting function: titles keep the surname ("Dear Mrs Smith", never "Dear Mrs,"),
"Surname, Forename" greets the forename, capitals as a person writes them; and the composer's
letters use it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from actions.acknowledge import AckContext, Composer
from bot.domain.greeting import greeting_name, salutation
from bot.settings import Organisation


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Mrs Smith", "Mrs Smith"),
        ("mrs SMITH", "Mrs Smith"),
        ("Dr. A Patel", "Dr Patel"),
        ("Smith, Jane", "Jane"),
        ("Smith, Mrs Jane", "Mrs Smith"),
        ("JANE SMITH", "Jane"),
        ("jane smith", "Jane"),
        ('"Jane Smith"', "Jane"),
        ("o'brien", "O'Brien"),
        ("smith-jones", "Smith-Jones"),
        ("McDonald", "McDonald"),
        ("Mrs", None),
        ("J", None),
        ("jane@example.net", None),
        ("", None),
        (None, None),
    ],
)
def test_greeting_name(name: str | None, expected: str | None) -> None:
    assert greeting_name(name) == expected


def test_salutation() -> None:
    assert salutation("Mrs Smith") == "Dear Mrs Smith,"
    assert salutation("noreply@example.net") == "Hello,"


def test_an_acknowledgement_greets_mrs_smith_by_title_and_surname() -> None:
    ctx = AckContext(
        reference="DS-2026-000123",
        topic="repair",
        urgency="routine",
        owner_name="Repairs team",
        deadline=datetime(2026, 12, 30, 17, tzinfo=UTC),
        now=datetime(2026, 12, 23, 10, tzinfo=UTC),
        resident_name=greeting_name("Mrs Smith"),
    )
    body = Composer(Organisation()).acknowledgement(ctx)
    assert body.startswith("Dear Mrs Smith,")
    assert "Dear Mrs," not in body
