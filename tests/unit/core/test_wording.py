"""Plain-language output: deadlines in words, acknowledgement length and reading ease."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from actions.acknowledge import AckContext, AwayOfficer, Composer, acknowledgement_subject
from actions.readability import flesch_kincaid_grade, flesch_reading_ease
from actions.wording import deadline_in_words, time_in_words
from bot.settings import Organisation


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 12, 30, 17, 0, tzinfo=UTC), "by 5pm on Wednesday 30 December"),
        (datetime(2026, 7, 1, 16, 15, tzinfo=UTC), "by 5:15pm on Wednesday 1 July"),  # BST
        (datetime(2027, 1, 4, 12, 0, tzinfo=UTC), "by midday on Monday 4 January 2027"),
    ],
)
def test_deadline_in_words(moment: datetime, expected: str) -> None:
    assert deadline_in_words(moment, now=datetime(2026, 12, 1, tzinfo=UTC)) == expected


def test_time_in_words_morning() -> None:
    assert time_in_words(datetime(2026, 1, 5, 9, 30, tzinfo=UTC)) == "9:30am"


def _ack(**kw: object) -> str:
    ctx = AckContext(
        reference="DS-2026-000123",
        topic=str(kw.pop("topic", "repair")),
        urgency=str(kw.pop("urgency", "routine")),
        owner_name="Repairs team",
        deadline=datetime(2026, 12, 30, 17, tzinfo=UTC),
        now=datetime(2026, 12, 23, 10, tzinfo=UTC),
        **kw,  # type: ignore[arg-type]
    )
    return Composer(Organisation(name="Riverside Homes")).acknowledgement(ctx)


@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"urgency": "emergency", "hazard_signposts": ("gas", "999")},
        {"topic": "asb", "urgency": "urgent"},
        {"topic": "complaint"},
        {"officer_away": AwayOfficer("Sam Patel", date(2027, 1, 4)), "cover_name": "Jo Bloggs"},
        {"office_open": False},
    ],
)
def test_acknowledgement_is_short_plain_and_complete(kw: dict[str, object]) -> None:
    text = _ack(**kw)
    assert len(text.split()) < 150
    assert "DS-2026-000123" in text  # the reference
    assert "by 5pm on Wednesday 30 December" in text  # the deadline in words
    assert "Repairs team" in text  # who owns it (HANDOFF)
    assert "call 0300" in text and "reply to this message" in text  # CONTACT
    # Reading level: aim for a reading age of about 11 (Flesch-Kincaid grade <= 8 once the
    # fixed contact lines, numbers and URLs are set aside; Flesch reading ease >= 60).
    prose = "\n".join(
        line for line in text.splitlines() if line and "http" not in line and "call" not in line
    )
    assert flesch_reading_ease(prose) >= 60, prose
    assert flesch_kincaid_grade(prose) <= 8, prose


def test_emergency_signposts() -> None:
    text = _ack(urgency="emergency", hazard_signposts=("gas", "999"))
    assert "0800 111 999" in text and "999" in text and "24-hour" in text


def test_subject_carries_reference_once() -> None:
    assert acknowledgement_subject("Leak", "DS-2026-000001") == "Re: Leak [DS-2026-000001]"
    assert acknowledgement_subject("Re: Leak [DS-2026-000001]", "DS-2026-000001") == (
        "Re: Leak [DS-2026-000001]"
    )
    assert acknowledgement_subject(None, "DS-2026-000001") == "Re: Your message [DS-2026-000001]"


def test_landlord_can_override_a_template(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "acknowledgement.txt.j2").write_text("Got it: {{ reference }} {{ deadline }}")
    composer = Composer(Organisation(), folder)
    ctx = AckContext(
        reference="DS-2026-000009",
        topic="general",
        urgency="routine",
        owner_name="Team",
        deadline=datetime(2026, 12, 30, 17, tzinfo=UTC),
        now=datetime(2026, 12, 23, tzinfo=UTC),
    )
    assert (
        composer.acknowledgement(ctx) == "Got it: DS-2026-000009 by 5pm on Wednesday 30 December\n"
    )


def test_readability_scores_known_sentences() -> None:
    assert flesch_reading_ease("The cat sat on the mat.") > 100
    hard = "The Australian platypus is seemingly a hybrid of a mammal and reptilian creature."
    assert 10 < flesch_kincaid_grade(hard) < 14  # published figure for this sentence: 11.3


def test_no_sentence_is_said_twice() -> None:
    from actions.acknowledge import without_repeats

    joined = without_repeats(
        "Thank you. Our office is closed now. For an emergency repair, call 0300.",
        "Our office is closed now. We are open 9 to 5.\nIf anyone is in danger, call 999.",
    )
    assert joined.count("Our office is closed now.") == 1
    assert joined.splitlines() == [
        "Thank you. Our office is closed now. For an emergency repair, call 0300.",
        "We are open 9 to 5.",
        "If anyone is in danger, call 999.",
    ]
