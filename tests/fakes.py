"""Fakes for the unit tier: a keyword classifier and a controllable clock.

Only things at our own boundary are faked (the classifier interface, time); channels are
never faked by patching our functions: senders use the built-in CollectingSender.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.nlu.types import Classification, HazardMatch


class KeywordClassifier:
    """Just enough triage for service-layer tests."""

    def classify(self, text: str) -> Classification:
        low = text.lower()
        hazards: tuple[HazardMatch, ...] = ()
        topic, urgency, intent = "general", "routine", "general_enquiry"
        if any(w in low for w in ("leak", "boiler", "repair", "broken", "mould")):
            topic, intent = "repair", "report_repair"
        if "mould" in low:
            intent = "damp_mould"
        if any(w in low for w in ("noise", "neighbour", "threat")):
            topic, intent = "asb", "report_asb"
        if "threat" in low:
            urgency = "urgent"
        if any(w in low for w in ("complain", "disgusted", "third time")):
            topic, intent = "complaint", "make_complaint"
        if any(w in low for w in ("a person", "speak to someone", "a human", "agent please")):
            intent = "ask_human"  # as the trained model does (nlu_data: ask_human)
        if "gas" in low:
            topic, urgency, intent = "repair", "emergency", "report_repair"
            hazards = (HazardMatch("gas", "gas", "gas"),)
        return Classification(
            topic=topic,
            urgency=urgency,
            intent=intent,
            confidence={"topic": {topic: 1.0}, "urgency": {urgency: 1.0}},
            hazards=hazards,
        )

    def classify_many(self, texts: list[str]) -> list[Classification]:
        return [self.classify(t) for t in texts]


@dataclass
class FakeClock:
    current: datetime

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)
