"""Natural-language understanding: topic, urgency, hazards, needs, entities, language."""

from bot.nlu.types import Classification, Classifier, Entity, HazardMatch

__all__ = ["Classification", "Classifier", "Entity", "HazardMatch"]
