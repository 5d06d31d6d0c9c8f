"""The queue read at a glance (issue 18): first words with quoted text and signatures
removed, the classifier's flags from whatever was stored, and names instead of ids."""

from __future__ import annotations

import pytest

from bot.web.dashboard import glance
from bot.web.dashboard.glance import Flag
from sla import PRESETS, Policy


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            "The bath tap drips.\n\nOn Mon, 7 Dec 2026 at 09:00, Repairs <r@landlord.example> "
            "wrote:\n> Thank you for your email. Your reference is DS-1.",
            "The bath tap drips.",
        ),
        ("> Our earlier reply\n> quoted first\n\nStill no heating", "Still no heating"),
        (
            "No hot water\n\n________________________________\nFrom: Repairs\nSent: Monday\n"
            "Subject: Your repair",
            "No hot water",
        ),
        ("Lift broken again\n\nSent from my iPhone", "Lift broken again"),
        ("Mould in the bedroom\n-- \nJo Bloggs\nFlat 3", "Mould in the bedroom"),
        ("Door will not lock\n\nKind regards,\nJo Bloggs\n07700 900123", "Door will not lock"),
        ("Mae dŵr yn gollwng\n\nDiolch,\nSiân", "Mae dŵr yn gollwng"),
        ("Thanks", "Thanks"),  # a whole message of thanks is what it says
        ("thanks for the visit but it leaks again", "thanks for the visit but it leaks again"),
        ("line one\r\nline\ttwo\n\n\nthree", "line one line two three"),
        ("", ""),
        (None, ""),
    ],
)
def test_first_words(body: str | None, words: str) -> None:
    assert glance.first_words(body) == words


def test_first_words_are_cut_at_a_word() -> None:
    body = "My kitchen ceiling has a big brown stain that is spreading " * 10
    words = glance.first_words(body)
    assert len(words) <= glance.FIRST_WORDS_CHARS + 1 and words.endswith("…")
    assert body.startswith(words[:-1])
    assert glance.first_words("x" * 500).endswith("…")  # no space: cut anyway


def test_first_words_drop_characters_that_change_how_a_row_reads() -> None:
    # A right-to-left override would make "gpj.exe" read backwards; zero-width joiners hide
    # words; control characters are noise.
    assert glance.first_words("pay \u202egpj.exe\u202c now\u200b\x07") == "pay gpj.exe now"


def test_flags_from_a_stored_classification() -> None:
    stored = {
        "topic": "repair",
        "confidence": {"topic": {"repair": 0.41, "general": 0.3}},
        "hazards": [
            {"rule": "water_electrics", "text": "water on the sockets", "signpost": "x"},
            {"rule": "water_electrics", "text": "water near the lights", "signpost": "x"},
            {"rule": "new_rule_name", "text": "", "signpost": ""},
        ],
        "needs": ["child", "elderly", "interpreter"],
        "language": "cy",
    }
    assert glance.flags(stored) == (
        Flag("hazard", "Water near electrics"),
        Flag("hazard", "New rule name"),
        Flag("need", "A child"),
        Flag("need", "Older resident"),
        Flag("need", "Needs an interpreter"),
        Flag("language", "In Welsh"),
        Flag("unsure", "Unsure of the topic (41%): check"),
    )


def test_a_sure_english_message_has_no_flags() -> None:
    stored = {
        "confidence": {"topic": {"repair": 1.0}},
        "hazards": [],
        "needs": [],
        "language": "en",
    }
    assert glance.flags(stored) == ()


def test_an_unreadable_message_is_flagged() -> None:
    assert glance.flags({"error": "binary"}) == (Flag("unsure", "Could not be read fully: check"),)


@pytest.mark.parametrize(
    "stored",
    [
        None,
        [],
        "text",
        {"hazards": "gas"},
        {"hazards": [None, 3, {"rule": 5}]},
        {"needs": [None, 7]},
        {"language": 3},
        {"confidence": "high"},
        {"confidence": {"topic": {"repair": "high", "x": True}}},
        {"confidence": {"topic": {}}},
    ],
)
def test_malformed_classifications_give_no_flag_and_no_error(stored: object) -> None:
    assert glance.flags(stored) == ()


def test_promise_names() -> None:
    assert glance.promise_name("awaab-emergency") == "Awaab's Law: make safe"
    assert glance.promise_name("handoff-3") == "Reply from the team"
    own = {"garden-14": Policy("garden-14", "X", "ours", 14, summary="garden jobs")}
    assert glance.promise_name("garden-14", own) == "Garden jobs"
    assert glance.promise_name("no-such-policy") == "No such policy"
    assert glance.promise_name(None) == ""
    # Every preset has a name an officer would say.
    assert set(PRESETS) <= set(glance.PROMISE_NAMES)


def test_team_person_channel_topic_and_language_names() -> None:
    teams = {"asb": "Community Safety team"}
    assert glance.team_name("asb", teams) == "Community Safety team"
    assert glance.team_name("tenancy-support", teams) == "Tenancy support"
    names = {"rita@landlord.example": "Rita Repairs"}
    assert glance.person_name("rita@landlord.example", names) == "Rita Repairs"
    assert glance.person_name("gone@landlord.example", names) == "gone@landlord.example"
    assert glance.person_name(None, names) is None
    assert glance.channel_name("webchat") == "Web chat"
    assert glance.channel_name("sms") == "SMS"
    assert glance.topic_name("asb") == "Antisocial behaviour"
    assert glance.language_name("pl") == "Polish"
    assert glance.language_name("xx") == "xx"
