"""Intents, the topic each belongs to, and the urgency labels.

The intent names are the ones `bot/rasa/domain.yml` declares (plus a few finer general ones),
so Rasa trains on the very same nlu_data/ files. Appointments belong to the repairs topic:
the job being moved is a repair, and the repairs team owns its diary (APPT).
"""

from __future__ import annotations

TOPICS = ("repair", "asb", "complaint", "general")
URGENCIES = ("emergency", "urgent", "routine")

INTENT_TOPICS: dict[str, str] = {
    "report_repair": "repair",
    "damp_mould": "repair",
    "change_appointment": "repair",
    "cancel_appointment": "repair",
    "report_asb": "asb",
    "make_complaint": "complaint",
    "general_enquiry": "general",
    "rent_payment": "general",
    "tenancy_change": "general",
    "compliment": "general",
    "greet": "general",
    "goodbye": "general",
    "thanks": "general",
    "affirm": "general",
    "deny": "general",
    "ask_human": "general",
    "out_of_scope": "general",
}
INTENTS = tuple(INTENT_TOPICS)
CONVERSATIONAL_INTENTS = frozenset(
    {"greet", "goodbye", "thanks", "affirm", "deny", "ask_human", "out_of_scope"}
)


def topic_of(intent: str) -> str:
    return INTENT_TOPICS.get(intent, "general")
