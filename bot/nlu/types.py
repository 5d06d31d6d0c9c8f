"""The one interface every channel and action uses to understand a message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class HazardMatch:
    rule: str  # e.g. "gas", "carbon_monoxide", "fire", "threat", "self_harm"
    text: str  # the words that matched
    signpost: str  # "gas" (0800 111 999), "999", "emergency_repairs"


@dataclass(frozen=True, slots=True)
class Entity:
    label: str  # postcode, phone_number, reference, date, room (as in nlu_data)
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Classification:
    topic: str  # repair | asb | complaint | general
    urgency: str  # emergency | urgent | routine
    intent: str  # finest Rasa intent, e.g. report_repair, damp_mould, greet
    confidence: dict[str, dict[str, float]] = field(default_factory=dict)  # topic/urgency/intent
    hazards: tuple[HazardMatch, ...] = ()
    entities: tuple[Entity, ...] = ()
    needs: tuple[str, ...] = ()  # elderly, disabled, pregnant, child, medical_equipment, abusive
    language: str = "en"  # ISO 639-1
    error: str | None = None  # set when the input could not be classified (empty, binary...)
    # Safe when unsure: one short question ("Is water near lights or sockets?") when the
    # message may be an emergency but nothing says it is; the engine may ask it and classify
    # the answer with the message. None when there is nothing to ask.
    ask: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "urgency": self.urgency,
            "intent": self.intent,
            "confidence": self.confidence,
            "hazards": [
                {"rule": h.rule, "text": h.text, "signpost": h.signpost} for h in self.hazards
            ],
            "entities": [
                {"label": e.label, "text": e.text, "start": e.start, "end": e.end}
                for e in self.entities
            ],
            "needs": list(self.needs),
            "language": self.language,
            "error": self.error,
            "ask": self.ask,
        }


class Classifier(Protocol):
    def classify(self, text: str) -> Classification: ...

    def classify_many(self, texts: list[str]) -> list[Classification]: ...
