"""Every acknowledgement a resident can read, for each topic x urgency x in/out of office
hours x channel (and the hazards that change it): no sentence said twice, within the
channel's length, and an emergency reply opens with what to do now from the one set of
safety advice (gas: leave, no switches or flames, 0800 111 999; water near electrics: keep
away, switch off at the consumer unit if safe; danger: 999)."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

import pytest

from actions.acknowledge import AckContext, Composer
from bot.domain.safety import GAS_ADVICE, GAS_EMERGENCY, WATER_ELECTRICS_ADVICE
from bot.settings import Organisation
from channels.sms import gsm

ORG = Organisation()
COMPOSER = Composer(ORG)
NOW = datetime(2026, 12, 23, 10, tzinfo=UTC)
HAZARDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # name -> (hazard rules, signposts), as bot.nlu.rules gives them
    "none": ((), ()),
    "gas": (("gas",), ("gas",)),
    "water_electrics": (("water_electrics",), ("emergency_repairs",)),
    "danger": (("danger_to_life",), ("999",)),
}
# The most words a reply may have on each channel (plain language: short).
WORD_LIMIT = {"email": 170, "sms": 80, "webchat": 110}
_SENTENCE = re.compile(r"(?<=[.!?])\s+")

CASES = list(
    itertools.product(
        ("repair", "asb", "complaint", "general"),
        ("emergency", "urgent", "routine"),
        (True, False),
        ("email", "sms", "webchat"),
        tuple(HAZARDS),
    )
)


def _render(topic: str, urgency: str, open_: bool, channel: str, hazard: str) -> str:
    rules, signposts = HAZARDS[hazard]
    ctx = AckContext(
        reference="DS-2026-000123",
        topic=topic,
        urgency=urgency,
        owner_name="Repairs team",
        deadline=datetime(2026, 12, 30, 17, tzinfo=UTC),
        now=NOW,
        resident_name="Mrs Smith",
        hazard_signposts=signposts,
        hazards=rules,
        office_open=open_,
    )
    return COMPOSER.acknowledgement(ctx, channel=channel)


@pytest.mark.parametrize(("topic", "urgency", "open_", "channel", "hazard"), CASES)
def test_no_sentence_twice_and_within_the_word_limit(
    topic: str, urgency: str, open_: bool, channel: str, hazard: str
) -> None:
    body = _render(topic, urgency, open_, channel, hazard)
    sentences = [
        " ".join(s.split()).casefold()
        for line in body.splitlines()
        for s in _SENTENCE.split(line.strip())
        if s.strip()
    ]
    repeated = {s for s in sentences if sentences.count(s) > 1}
    assert not repeated, body
    assert len(body.split()) <= WORD_LIMIT[channel], body
    if channel == "sms":
        assert gsm.segment_info(gsm.normalise(body).strip()).segments <= 2, body


@pytest.mark.parametrize("channel", ["email", "webchat"])
def test_water_on_a_light_opens_with_what_to_do_now(channel: str) -> None:
    body = _render("repair", "emergency", False, channel, "water_electrics")
    first = body.split("Thank you")[0]
    assert WATER_ELECTRICS_ADVICE in first  # not the fourth line any more
    assert ORG.emergency_phone in first


@pytest.mark.parametrize("channel", ["email", "sms", "webchat"])
def test_gas_advice_is_the_same_everywhere_and_comes_first(channel: str) -> None:
    body = _render("repair", "emergency", True, channel, "gas")
    opening = body.split("thank you")[0].split("Thank you")[0]
    assert GAS_EMERGENCY in opening
    if channel != "sms":
        assert GAS_ADVICE in opening
    else:
        assert "no flames or switches" in opening
