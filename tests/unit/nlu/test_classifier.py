"""The embedded classifier end to end: model, rules, needs, entities, language, bad input."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.nlu.spacy_classifier import MAX_CHARS, SpacyClassifier, model_text
from bot.nlu.types import Classifier


@pytest.mark.parametrize(
    ("text", "topic", "urgency", "intent"),
    [
        ("I can smell gas in the kitchen", "repair", "emergency", "report_repair"),
        ("the kitchen tap has been dripping for a week", "repair", "routine", "report_repair"),
        ("black mould on the bedroom ceiling", "repair", "urgent", "damp_mould"),
        ("my neighbour plays loud music every night until 3am", "asb", "routine", "report_asb"),
        ("my neighbour keeps threatening me and my kids", "asb", "urgent", "report_asb"),
        (
            "third time I've reported this leak and nobody has come, disgraceful",
            "complaint",
            None,
            "make_complaint",
        ),
        ("I want to make a formal complaint", "complaint", "routine", "make_complaint"),
        ("what time does your office open", "general", "routine", "general_enquiry"),
        ("someone keeps parking in my bay", "general", "routine", "general_enquiry"),
        ("I need to cancel my appointment on friday", "repair", "routine", "cancel_appointment"),
        ("can I move my appointment to next week", "repair", "routine", "change_appointment"),
        ("hello", "general", "routine", "greet"),
        ("thank you so much", "general", "routine", "thanks"),
        ("can I speak to a real person please", "general", "routine", "ask_human"),
    ],
)
def test_clear_messages(
    classifier: SpacyClassifier, text: str, topic: str, urgency: str | None, intent: str
) -> None:
    result = classifier.classify(text)
    assert (result.topic, result.intent) == (topic, intent), result.confidence
    if urgency is not None:
        assert result.urgency == urgency, result.confidence
    assert result.error is None


def test_it_is_a_classifier(classifier: SpacyClassifier) -> None:
    used: Classifier = classifier  # the interface the app depends on
    assert used.classify("hi").topic == "general"


def test_confidence_per_label(classifier: SpacyClassifier) -> None:
    result = classifier.classify("the boiler is broken and we have no hot water")
    assert set(result.confidence) == {"topic", "urgency", "intent"}
    assert set(result.confidence["topic"]) == {"repair", "asb", "complaint", "general"}
    assert set(result.confidence["urgency"]) == {"emergency", "urgent", "routine"}
    assert sum(result.confidence["topic"].values()) == pytest.approx(1.0, abs=0.01)
    assert max(result.confidence["topic"], key=result.confidence["topic"].__getitem__) == "repair"
    json.dumps(result.as_dict())  # serialisable as it is


def test_a_hazard_rule_raises_urgency_whatever_the_model_says(classifier: SpacyClassifier) -> None:
    result = classifier.classify("hi, nothing major, just a bit of a gas smell by the cooker")
    assert result.urgency == "emergency"
    assert result.topic == "repair"
    assert [(h.rule, h.signpost) for h in result.hazards] == [("gas", "gas")]


def test_a_hazard_in_a_complaint_keeps_it_a_complaint(classifier: SpacyClassifier) -> None:
    result = classifier.classify(
        "I reported the sparking socket a week ago and nobody came, absolutely disgraceful"
    )
    assert (result.topic, result.urgency) == ("complaint", "emergency")


def test_people_in_danger_are_signposted_to_999(classifier: SpacyClassifier) -> None:
    result = classifier.classify("he's outside my door with a knife right now")
    assert result.urgency == "emergency"
    assert result.topic == "asb"
    assert "999" in {h.signpost for h in result.hazards}


def test_season_and_vulnerability_raise_a_repair(classifier: SpacyClassifier) -> None:
    summer = SpacyClassifier(classifier.nlp, today=lambda: date(2026, 7, 1))
    winter = SpacyClassifier(classifier.nlp, today=lambda: date(2026, 12, 1))
    assert summer.classify("the heating isn't working").urgency != "emergency"
    assert winter.classify("the heating isn't working").urgency == "emergency"
    baby = summer.classify("the heating isn't working and I have a newborn baby")
    assert baby.urgency == "emergency"
    assert "child" in baby.needs


def test_needs_entities_and_language(classifier: SpacyClassifier) -> None:
    result = classifier.classify(
        "I'm 84 and use a wheelchair, the lift at CF10 1EP is broken, call 07700 900123"
    )
    assert {"elderly", "disabled"} <= set(result.needs)
    labels = {e.label for e in result.entities}
    assert {"postcode", "phone_number"} <= labels
    assert classifier.classify("Mae'r boeler wedi torri a does dim dŵr poeth").language == "cy"


def test_abusive_language_is_flagged(classifier: SpacyClassifier) -> None:
    result = classifier.classify("fix my fucking boiler you useless idiots")
    assert "abusive" in result.needs
    assert result.topic in {"repair", "complaint"}


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "empty"),
        ("   \n\t  ", "empty"),
        ("\x00\x01\x02\x03\x04\x05 binary \x06\x07\x08\x0e\x0f\x10\x11", "binary"),
        ("caf\udce9 au lait", "not_utf8"),  # undecodable bytes, as surrogateescape keeps them
    ],
)
def test_bad_input_gets_a_clear_result(classifier: SpacyClassifier, text: str, error: str) -> None:
    result = classifier.classify(text)
    assert result.error == error
    assert (result.topic, result.urgency) == ("general", "routine")
    json.dumps(result.as_dict())


def test_a_message_with_no_words_for_the_model_is_not_an_emergency(
    classifier: SpacyClassifier,
) -> None:
    for text in ("'''", "\u2019\u2019", "?", "\U0001f44d"):
        result = classifier.classify(text)
        assert (result.topic, result.urgency) == ("general", "routine"), text


@pytest.mark.parametrize(
    "text",
    ["€" * 100_000, "toilet " * 14_000, "07700 900123 " * 7_000, "a" * 100_000, "'" * 100_000],
)
def test_pathological_input_is_bounded(classifier: SpacyClassifier, text: str) -> None:
    import time

    started = time.perf_counter()
    classifier.classify(text)
    assert time.perf_counter() - started < 10  # was minutes: spaCy's tokenizer on one huge word


def test_a_huge_message_is_read_up_to_the_limit(classifier: SpacyClassifier) -> None:
    text = "I can smell gas in the hall. " + "blah " * 30_000
    assert len(text) > MAX_CHARS
    result = classifier.classify(text)
    assert result.error is not None and result.error.startswith("too_long")
    assert result.urgency == "emergency"


def test_non_text_is_refused_not_crashed_on(classifier: SpacyClassifier) -> None:
    assert classifier.classify(None).error == "not_text"  # type: ignore[arg-type]
    assert classifier.classify(b"\xff\xfe").error == "not_utf8"  # type: ignore[arg-type]


def test_classify_many_keeps_order_and_agrees_with_classify(classifier: SpacyClassifier) -> None:
    texts = ["I can smell gas", "", "noisy neighbours", "\x00\x00\x00\x00", "hi"]
    many = classifier.classify_many(texts)
    assert [r.error for r in many] == [None, "empty", None, "binary", None]
    for text, result in zip(texts, many, strict=True):
        assert result == classifier.classify(text)
    assert classifier.classify_many([]) == []


def test_the_model_reads_sms_shorthand_as_words() -> None:
    assert model_text("pls can u fix ur boiler 2nite") == "please can you fix your boiler tonight"
    assert model_text("Job DS-2026-000123, call 07700 900123") == "job refnum , call phonenum"


def test_welsh_water_through_the_ceiling_near_a_light_is_an_emergency(
    classifier: SpacyClassifier,
) -> None:
    welsh = classifier.classify("Mae dŵr yn gollwng drwy'r nenfwd wrth ymyl y golau")
    english = classifier.classify("Water is leaking through the ceiling next to the light")
    assert welsh.urgency == english.urgency == "emergency"
    assert welsh.topic == english.topic == "repair"
    assert welsh.language == "cy"
    assert "interpreter" not in welsh.needs  # Welsh is a service language


def test_other_languages_are_flagged_for_staff(classifier: SpacyClassifier) -> None:
    result = classifier.classify("Dzień dobry, w łazience cieknie woda z sufitu od wczoraj")
    assert result.language == "pl"
    assert "interpreter" in result.needs


def test_a_maybe_emergency_carries_one_short_question(classifier: SpacyClassifier) -> None:
    for text in (
        "the lift is out of order again",
        "electrical fault in the kitchen",
        "leak from the bathroom upstairs",
        "the heating has packed up",
    ):
        result = classifier.classify(text)
        assert result.urgency != "routine", text  # never below the rule's urgent floor
        if result.urgency != "emergency":
            assert result.ask, text  # unsure: one question for the engine to ask
            assert result.as_dict()["ask"] == result.ask
    sure = classifier.classify("I can smell gas in the kitchen")
    assert sure.urgency == "emergency" and sure.ask is None  # nothing left to ask


def test_urgency_is_never_below_a_hazard_rule(classifier: SpacyClassifier) -> None:
    for text in ("total loss of water supply", "forced entry", "complete power failure"):
        result = classifier.classify(text)
        assert result.urgency == "emergency", text
        assert result.hazards


def test_the_model_alone_can_be_measured(classifier: SpacyClassifier) -> None:
    model_only = SpacyClassifier(classifier.nlp, use_rules=False)
    assert model_only.classify("complete power failure").hazards == ()
