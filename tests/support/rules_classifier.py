"""A classifier for dashboard tests: the keyword triage of the service tests with the real
rules on top (hazards, needs, language: bot/nlu/rules.py), so what is stored looks like what
the trained classifier stores, without training a model."""

from __future__ import annotations

from dataclasses import replace

from bot.nlu import rules
from bot.nlu.types import Classification
from tests.fakes import KeywordClassifier


class RulesClassifier(KeywordClassifier):
    def classify(self, text: str) -> Classification:
        base = super().classify(text)
        found = rules.analyse(text)
        urgency = base.urgency
        if found.urgency and rules.URGENCY_ORDER[found.urgency] > rules.URGENCY_ORDER[urgency]:
            urgency = found.urgency
        topic = "repair" if found.hazards and base.topic == "general" else base.topic
        # As bot/nlu/spacy_classifier.decide: a language the service does not answer in.
        needs = found.needs + (("interpreter",) if found.language not in ("en", "cy") else ())
        confidence = base.confidence
        if topic == "general":  # the keywords found nothing: as unsure as a model would be
            confidence = {"topic": {"general": 0.34, "repair": 0.33}, "urgency": {urgency: 0.9}}
        return replace(
            base,
            topic=topic,
            urgency=urgency,
            hazards=found.hazards or base.hazards,
            needs=needs,
            language=found.language,
            confidence=confidence,
        )
