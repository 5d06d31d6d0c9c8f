"""Every resident template in English and in Welsh (Cymraeg), bilingual first replies, the
interpreter line for other languages, and plain language measured in both (ACCESS; the
Welsh Language Standards; limits in docs/accessibility.md)."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime
from pathlib import Path

import jinja2
import jinja2.meta
import pytest

from actions import cymraeg
from actions.acknowledge import DEFAULT_TEMPLATES, AckContext, AwayOfficer, Composer
from actions.languages import (
    ENGLISH_ONLY,
    INTERPRETER_LINES,
    LANGUAGE_NAMES,
    Voice,
    choose_voice,
    language_choice,
)
from actions.readability import flesch_kincaid_grade, flesch_reading_ease, plainness
from bot.settings import Organisation
from channels.sms import gsm

ORG = Organisation(
    name="Cartrefi Cwm",
    phone="0300 123 4567",
    emergency_phone="0300 123 4999",
    website="https://cartrefi-cwm.example",
    complaints_url="https://cartrefi-cwm.example/cwynion",
    self_service_url="https://cartrefi-cwm.example/cyfrif",
)
COMPOSER = Composer(ORG)
NOW = datetime(2026, 12, 23, 10, tzinfo=UTC)
STAFF_ONLY = {"complaint_notify.txt.j2"}  # to the complaints team, not a resident
CY = Voice(("cy",))

# Plain-language limits (docs/accessibility.md, "Plain language limits").
WORD_LIMIT = {"email": 170, "sms": 80, "webchat": 110, "social": 110}
WELSH_MEAN_SENTENCE = 12.0  # words per sentence, on average, in one message
WELSH_LONGEST_SENTENCE = 20
WELSH_LONG_WORDS = 0.15  # share of words of 10 letters or more ("atgyweiriad" is 11)
# Flesch reading ease and Flesch-Kincaid grade of a template's words (as the
# acknowledgement in tests/unit/core/test_wording.py): a reading age of about 11.
ENGLISH_EASE = 60.0
ENGLISH_GRADE = 8.0
# English words that must never be left in a Welsh message (the keywords residents send,
# CHANGE, YES, STOP..., are in capitals and are not these).
_ENGLISH_LEFT = re.compile(
    r"\b(the|will|your|you|we|our|and|call|reply|please|thank|by|on|to|of)\b", re.IGNORECASE
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _templates() -> list[str]:
    return sorted(
        p.name
        for p in DEFAULT_TEMPLATES.glob("*.j2")
        if p.name not in STAFF_ONLY and not p.name.startswith("acknowledgement")
    )


def _channel_of(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) == 4 else "email"


def _base(name: str) -> str:
    parts = name.split(".")
    return f"{parts[0]}.{parts[-2]}.{parts[-1]}"


SAMPLES: dict[str, object] = {
    "reference": "DS-2026-000123",
    "deadline": "by 5pm on Wednesday 30 December",
    "stage1_ack_deadline": "by 5pm on Thursday 24 December",
    "stage1_response_days": 10,
    "when": "Tuesday 5 January, in the morning (8am to 1pm)",
    "old_when": "Monday 4 January, between 1pm and 6pm",
    "trade": "plumbing",
    "job_ref": "J-5521",
    "address": "12 Heol y Bont, Pontypridd",
    "team": "the Repairs team",
    "owner_name": "the Repairs team",
    "cover_name": "the Repairs team",
    "handler_name": "Alex Jones",
    "staff_name": "Alex Jones",
    "resident_name": "Siân",
    "first_name": "Siân",
    "signposts": [],
    "signature": "Alex",
    "private_reply": True,
    "already": False,
    "office_open": False,
    "emergency_given": False,
    "answer": None,
    "ombudsman_phone": "0300 111 3000",
    "preferred": "Friday 8 January",
    "outcome": None,
    "note": None,
    "reason": None,
    "summary": None,
    "body": None,
    "stage": 1,
    "topic": "repair",
    "urgency": "routine",
    # Live chat (bot/service/live.py) and the safety question (bot/conversation/unsure.py).
    "team_name": "the Repairs team",
    "left": False,
    "ahead": 2,
    "within": "3 minutes",
    "emergency": True,
    "question": "Is water near lights or sockets, or can you not stop it?",
    "verdict": "yes",
    "advice": [
        "Keep away from water near lights, sockets or wires. If it is safe, switch off the "
        "power at the consumer unit (fuse box)."
    ],
}


def _values(name: str) -> dict[str, object]:
    env = COMPOSER.env
    assert env.loader is not None
    source = env.loader.get_source(env, name)[0]
    wanted = jinja2.meta.find_undeclared_variables(env.parse(source))
    common = set(COMPOSER._common())
    missing = wanted - common - set(SAMPLES)
    assert not missing, f"{name}: add samples for {missing}"
    return {key: SAMPLES[key] for key in wanted - common}


def _sentences(body: str) -> list[str]:
    return [
        " ".join(s.split()).casefold()
        for line in body.splitlines()
        for s in _SENTENCE.split(line.strip())
        if s.strip()
    ]


_NOT_WORDS = re.compile(r"https?://\S+|\b[A-Z]{2}-[0-9A-Z-]+|\+?\d[\d ]{5,}\d|\S+@\S+")


def _prose(body: str) -> str:
    """What a resident reads as words: web addresses, references and numbers taken out."""
    return "\n".join(
        _NOT_WORDS.sub("", line) for line in body.splitlines() if _NOT_WORDS.sub("", line).strip()
    )


def _assert_plain_welsh(body: str) -> None:
    measured = plainness(_prose(body))
    assert measured.mean_sentence <= WELSH_MEAN_SENTENCE, (measured, body)
    assert measured.longest_sentence <= WELSH_LONGEST_SENTENCE, (measured, body)
    assert measured.long_word_share <= WELSH_LONG_WORDS, (measured, body)
    leftover = [
        m.group(0)
        for line in body.splitlines()
        if "http" not in line
        for m in _ENGLISH_LEFT.finditer(line.replace("Cartrefi Cwm", ""))
    ]
    assert not leftover, (leftover, body)


# ---- every template, in both languages ------------------------------------------------


def test_every_resident_template_has_a_welsh_version() -> None:
    english = {p.name for p in DEFAULT_TEMPLATES.glob("*.j2")} - STAFF_ONLY
    welsh = {p.name for p in (DEFAULT_TEMPLATES / "cy").glob("*.j2")}
    assert english - welsh == set()
    assert welsh - english == set()


@pytest.mark.parametrize("name", _templates())
def test_every_template_in_welsh_is_plain_and_has_no_english_left(name: str) -> None:
    values = _values(name)
    if "body" in values:
        values["body"] = "Bydd plymwr yn dod ddydd Mawrth."
    body = COMPOSER.render(_base(name), channel=_channel_of(name), voice=CY, **values)
    assert not {s for s in _sentences(body) if _sentences(body).count(s) > 1}, body
    assert len(body.split()) <= WORD_LIMIT[_channel_of(name)], body
    assert "DS-2026-000123" in body or "reference" not in values
    _assert_plain_welsh(body)
    if _channel_of(name) == "sms":
        info = gsm.segment_info(gsm.normalise(body).strip())
        assert info.encoding == "GSM-7" and info.segments <= 2, (info, body)


@pytest.mark.parametrize("name", _templates())
def test_every_template_in_english_is_plain(name: str) -> None:
    values = _values(name)
    if "body" in values:
        values["body"] = "A plumber will come on Tuesday."
    body = COMPOSER.render(_base(name), channel=_channel_of(name), **values)
    assert not {s for s in _sentences(body) if _sentences(body).count(s) > 1}, body
    assert len(body.split()) <= WORD_LIMIT[_channel_of(name)], body
    prose = _prose(body)
    if len(prose.split()) >= 15:  # a score on a dozen words says nothing
        assert flesch_reading_ease(prose) >= ENGLISH_EASE, body
        assert flesch_kincaid_grade(prose) <= ENGLISH_GRADE, body


@pytest.mark.parametrize("name", _templates())
def test_every_template_bilingual_says_no_line_twice(name: str) -> None:
    values = _values(name)
    channel = _channel_of(name)
    if "body" in values:
        values["body"] = "Bydd plymwr yn dod ddydd Mawrth."  # their words: said once
    both = COMPOSER.render(_base(name), channel=channel, voice=Voice(("cy", "en")), **values)
    lines = [line.strip() for line in both.splitlines() if line.strip()]
    assert len(lines) == len(set(lines)), both
    assert len(both.split()) <= 2 * WORD_LIMIT[channel], both
    welsh = COMPOSER.render(_base(name), channel=channel, voice=CY, **values)
    assert both.index(welsh.splitlines()[0]) == 0  # Welsh first, as asked


# ---- acknowledgements: every topic x urgency x hours x channel x hazard ---------------

HAZARDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "none": ((), ()),
    "gas": (("gas",), ("gas",)),
    "water_electrics": (("water_electrics",), ("emergency_repairs",)),
    "danger": (("danger_to_life",), ("999",)),
}
ACK_CASES = list(
    itertools.product(
        ("repair", "asb", "complaint", "general"),
        ("emergency", "urgent", "routine"),
        (True, False),
        ("email", "sms", "webchat", "social"),
        tuple(HAZARDS),
    )
)


def _ack(
    topic: str, urgency: str, open_: bool, channel: str, hazard: str, voice: Voice, **kw: object
) -> str:
    rules, signposts = HAZARDS[hazard]
    ctx = AckContext(
        reference="DS-2026-000123",
        topic=topic,
        urgency=urgency,
        owner_name="the Repairs team",
        deadline=datetime(2026, 12, 30, 17, tzinfo=UTC),
        now=NOW,
        resident_name="Mrs Jones",
        hazard_signposts=signposts,
        hazards=rules,
        office_open=open_,
        **kw,  # type: ignore[arg-type]
    )
    return COMPOSER.acknowledgement(ctx, channel=channel, voice=voice)


@pytest.mark.parametrize(("topic", "urgency", "open_", "channel", "hazard"), ACK_CASES)
def test_welsh_acknowledgement_is_complete_plain_and_short(
    topic: str, urgency: str, open_: bool, channel: str, hazard: str
) -> None:
    body = _ack(topic, urgency, open_, channel, hazard, CY)
    assert not {s for s in _sentences(body) if _sentences(body).count(s) > 1}, body
    assert len(body.split()) <= WORD_LIMIT[channel], body
    assert "DS-2026-000123" in body
    assert "erbyn 5pm ddydd Mercher 30 Rhagfyr" in body
    assert "tîm Atgyweirio" in body
    _assert_plain_welsh(body)
    if urgency == "emergency" and hazard != "none":
        # EMERGENCY: what to do now opens the message, in Welsh too.
        opening = body.split("Diolch")[0].split("diolch")[0]
        assert "ffoniwch" in opening.lower() or "Ffoniwch" in opening, body
    if channel == "sms":
        info = gsm.segment_info(gsm.normalise(body).strip())
        assert info.encoding == "GSM-7" and info.segments <= 2, (info, body)


@pytest.mark.parametrize(("topic", "urgency", "open_", "channel", "hazard"), ACK_CASES)
def test_bilingual_first_reply_says_nothing_twice(
    topic: str, urgency: str, open_: bool, channel: str, hazard: str
) -> None:
    voice = Voice(("cy", "en"), offer=True)
    body = _ack(topic, urgency, open_, channel, hazard, voice)
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    assert len(lines) == len(set(lines)), body
    assert "CYMRAEG" in body and "ENGLISH" in body  # the question, on the first reply
    assert len(body.split()) <= 2 * WORD_LIMIT[channel] + 25, body
    if channel == "sms":
        # The bilingual text is the two short forms in one message (docs/cymraeg.md): at
        # most 3 segments, 5 when safety advice is said in both languages.
        info = gsm.segment_info(gsm.normalise(body).strip())
        assert info.encoding == "GSM-7", (info, body)
        advice = hazard != "none" or urgency == "emergency" or topic == "asb"
        assert info.segments <= (5 if advice else 3), (info, body)


def test_welsh_officer_away_and_mutations() -> None:
    body = _ack(
        "repair",
        "routine",
        True,
        "email",
        "none",
        CY,
        officer_away=AwayOfficer("Sam Patel", date(2027, 1, 4)),
        cover_name="the Repairs team",
    )
    assert "Mae Sam Patel i ffwrdd tan ddydd Llun 4 Ionawr 2027." in body  # tan + ddydd
    assert "Bydd y tîm Atgyweirio yn eich helpu yn y cyfamser." in body
    assert "I gysylltu â ni, ffoniwch 0300 123 4567 (dydd Llun i ddydd Gwener, 9am i 5pm)" in body


def test_welsh_safety_advice_reads_as_welsh() -> None:
    body = _ack("repair", "emergency", True, "email", "gas", CY)
    first = body.split("Diolch am eich neges")[0]
    assert "Os ydych chi'n arogli nwy, gadewch y cartref nawr." in first
    assert "0800 111 999" in first


# ---- which voice -------------------------------------------------------------------------

WALES = Organisation(languages=["cy", "en"])
WALES_WELSH_FIRST = Organisation(languages=["cy", "en"], welsh_first=True)
ENGLAND = Organisation()


@pytest.mark.parametrize(
    ("org", "kw", "expected"),
    [
        # A landlord in Wales, preference unknown: both, and the question.
        (WALES, {"first": True}, Voice(("en", "cy"), offer=True)),
        (WALES_WELSH_FIRST, {"first": True}, Voice(("cy", "en"), offer=True)),
        (WALES, {}, Voice(("en", "cy"))),  # later messages do not ask again
        # Welsh is answered in Welsh by any landlord, English below.
        (ENGLAND, {"detected": "cy", "first": True}, Voice(("cy", "en"), offer=True)),
        (
            Organisation(welsh_replies_with_english=False),
            {"detected": "cy"},
            Voice(("cy",)),
        ),
        # A choice is kept, whatever the next message looks like.
        (WALES, {"preference": "cy", "source": "resident", "first": True}, Voice(("cy",))),
        (WALES, {"preference": "en", "source": "staff", "detected": "cy"}, ENGLISH_ONLY),
        (ENGLAND, {"preference": "pl", "source": "staff"}, Voice(("en",), interpreter="pl")),
        # Another language: English, with the interpreter line.
        (ENGLAND, {"detected": "pl", "first": True}, Voice(("en",), interpreter="pl")),
        (WALES, {"detected": "ro"}, Voice(("en", "cy"), interpreter="ro")),
        (ENGLAND, {"detected": "en", "first": True}, ENGLISH_ONLY),
    ],
)
def test_choose_voice(org: Organisation, kw: dict[str, object], expected: Voice) -> None:
    assert choose_voice(org, **kw) == expected  # type: ignore[arg-type]


def test_every_language_the_detector_names_has_an_interpreter_line() -> None:
    assert set(LANGUAGE_NAMES) - set(INTERPRETER_LINES) == {"en", "cy"}
    for code, line in INTERPRETER_LINES.items():
        assert "{phone}" in line, code
        assert len(line) <= 110, code  # one short line


def test_polish_message_gets_english_with_one_polish_line() -> None:
    body = _ack("repair", "routine", True, "email", "none", Voice(("en",), interpreter="pl"))
    lines = [line for line in body.splitlines() if line.strip()]
    assert lines[0] == "Potrzebujesz tłumacza lub listu po polsku? Zadzwoń do nas: 0300 123 4567."
    assert "Thank you for your message." in body
    assert sum("polsk" in line for line in lines) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CYMRAEG", "cy"),
        (" cymraeg. ", "cy"),
        ("English", "en"),
        ("Saesneg!", "en"),
        ("CYMRAEG\n\nOn Mon, 21 Dec 2026, Cartrefi wrote:\n> Diolch am eich neges", "cy"),
        ("Cymraeg os gwelwch yn dda, mae'r to yn gollwng", None),
        ("my English teacher", None),
        ("", None),
    ],
)
def test_language_choice_words(text: str, expected: str | None) -> None:
    assert language_choice(text) == expected


# ---- Welsh words for our English ones ----------------------------------------------------


@pytest.mark.parametrize(
    ("english", "welsh"),
    [
        ("by 5pm on Wednesday 30 December", "erbyn 5pm ddydd Mercher 30 Rhagfyr"),
        ("by midday on Monday 4 January 2027", "erbyn hanner dydd ddydd Llun 4 Ionawr 2027"),
        (
            "Tuesday 5 January, in the morning (8am to 1pm)",
            "dydd Mawrth 5 Ionawr, yn y bore (8am i 1pm)",
        ),
        ("Monday 4 January, between 1pm and 6pm", "dydd Llun 4 Ionawr, rhwng 1pm a 6pm"),
        ("Friday 8 January, between 10am and 1pm", "dydd Gwener 8 Ionawr, rhwng 10am ac 1pm"),
        ("Monday to Friday, 9am to 5pm", "dydd Llun i ddydd Gwener, 9am i 5pm"),
    ],
)
def test_phrase_in_welsh(english: str, welsh: str) -> None:
    assert cymraeg.phrase(english) == welsh


def test_team_names_in_welsh() -> None:
    assert cymraeg.name("the Repairs team") == "y tîm Atgyweirio"
    assert cymraeg.name("Customer Services team") == "y tîm Gwasanaethau Cwsmeriaid"
    assert cymraeg.name("Alex Jones") == "Alex Jones"
    own = {"Estates team": "y tîm Stadau"}
    assert cymraeg.name("the Estates team", own) == "y tîm Stadau"


def test_landlord_welsh_template_overrides(tmp_path: Path) -> None:
    (tmp_path / "cy").mkdir()
    (tmp_path / "cy" / "reopened.txt.j2").write_text("Ar agor eto: {{ reference }}")
    composer = Composer(ORG, tmp_path)
    body = composer.render(
        "reopened.txt.j2",
        voice=CY,
        reference="DS-1",
        resident_name=None,
        owner_name="x",
        deadline="by 5pm on Wednesday 30 December",
    )
    assert body == "Ar agor eto: DS-1\n"
