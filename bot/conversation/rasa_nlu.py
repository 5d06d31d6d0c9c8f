"""NLU engine `rasa`: classify through Rasa's `/model/parse` instead of the embedded spaCy
model, with the same `Classification` shape.

Rasa gives the intent (and its ranking); the topic comes from the same intent -> topic map
the embedded classifier uses, and urgency, hazards, needs, entities and language from the
embedded rules in `bot.nlu` where they exist, so both engines triage alike (EMERGENCY: a
hazard rule decides an emergency whatever the model says).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import httpx

from bot.nlu.types import Classification, Entity, HazardMatch

# Used only while bot.nlu has no intent -> topic map of its own (the NLU area defines it).
FALLBACK_TOPICS = {
    "report_repair": "repair",
    "damp_mould": "repair",
    "change_appointment": "repair",
    "cancel_appointment": "repair",
    "report_asb": "asb",
    "make_complaint": "complaint",
}


class RasaParseError(Exception):
    """Rasa's /model/parse did not answer usably."""


def _find(names: tuple[str, ...]) -> Any:
    """The first of `module:attribute` names that exists in bot.nlu, else None."""
    for spec in names:
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        found = getattr(module, attr, None)
        if found is not None:
            return found
    return None


class RasaClassifier:
    """`bot.nlu.types.Classifier` over Rasa's HTTP API (`rasa run --enable-api`)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 5.0,
        client: httpx.Client | None = None,
        topics: dict[str, str] | None = None,
        rules: Callable[[str], Any] | None = None,
    ) -> None:
        self.url = url.rstrip("/") + "/model/parse"
        self._client = client or httpx.Client(timeout=timeout)
        self.topics: dict[str, str] = (
            topics
            or _find(
                (
                    "bot.nlu.topics:INTENT_TOPICS",
                    "bot.nlu:INTENT_TOPICS",
                    "bot.nlu.intents:INTENT_TOPICS",
                )
            )
            or FALLBACK_TOPICS
        )
        # The embedded rules (urgency, hazards, needs, entities, language) when bot.nlu has them.
        self.rules = rules or _find(("bot.nlu.rules:analyse", "bot.nlu:analyse_rules"))

    def close(self) -> None:
        self._client.close()

    def parse(self, text: str) -> dict[str, Any]:
        try:
            response = self._client.post(self.url, json={"text": text})
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaParseError(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(data, dict):
            raise RasaParseError("not a parse result")
        return data

    def classify(self, text: str) -> Classification:
        if not text.strip():
            return Classification("general", "routine", "none", error="empty message")
        data = self.parse(text)
        intent = str((data.get("intent") or {}).get("name") or "nlu_fallback")
        ranking = {
            str(r.get("name")): float(r.get("confidence") or 0.0)
            for r in data.get("intent_ranking") or []
            if isinstance(r, dict)
        }
        topic_scores: dict[str, float] = {}
        for name, score in ranking.items():
            topic = self.topics.get(name, "general")
            topic_scores[topic] = topic_scores.get(topic, 0.0) + score
        topic = self.topics.get(intent, "general")
        entities = tuple(
            Entity(
                str(e.get("entity")),
                str(e.get("value")),
                int(e.get("start", 0)),
                int(e.get("end", 0)),
            )
            for e in data.get("entities") or []
            if isinstance(e, dict)
        )
        base = Classification(
            topic=topic,
            urgency="routine",
            intent=intent,
            confidence={"topic": topic_scores, "intent": ranking},
            entities=entities,
        )
        return self._with_rules(text, base)

    def _with_rules(self, text: str, base: Classification) -> Classification:
        if self.rules is None:
            return base
        found = self.rules(text)
        hazards: tuple[HazardMatch, ...] = tuple(getattr(found, "hazards", ()) or ())
        urgency = str(getattr(found, "urgency", None) or base.urgency)
        topic = base.topic
        if hazards and urgency == "emergency" and topic == "general":
            topic = "repair"  # a hazard with no other topic is reported as a repair (EMERGENCY)
        return Classification(
            topic=topic,
            urgency=urgency,
            intent=base.intent,
            confidence={**base.confidence, "urgency": {urgency: 1.0}},
            hazards=hazards,
            entities=tuple(getattr(found, "entities", ()) or ()) or base.entities,
            needs=tuple(getattr(found, "needs", ()) or ()),
            language=str(getattr(found, "language", None) or base.language),
        )

    def classify_many(self, texts: list[str]) -> list[Classification]:
        return [self.classify(text) for text in texts]
