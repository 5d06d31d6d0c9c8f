"""Form validation: the questions each conversation asks, and the triage that ends a repair
report early with the 24-hour line (EMERGENCY) or an ASB report with 999."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.rasa.common import doorstep_meta

YES = re.compile(
    r"^\s*(y|yes|yeah|yep|yup|aye|correct|right|please|ok|okay|sure|it is|they are|there is)\b",
    re.I,
)
NO = re.compile(
    r"^\s*(n|no|nope|nah|not|none|nobody|no one|neither|never|it isn't|it is not)\b", re.I
)
VULNERABLE = re.compile(
    r"\b(baby|babies|child|children|kids?|elderly|old|disab\w*|ill|sick|pregnant|oxygen|"
    r"asthma|wheelchair|injur\w*|hurt|bleeding|unconscious)\b",
    re.I,
)
TOILET = re.compile(r"\b(toilet|loo|wc|lavatory)\b", re.I)
# "I need a repair" or "I want to make a complaint" says nothing about what happened: ask.
_VAGUE = re.compile(
    r"^(hi|hello|hey|i|i'd|i'm|im|we|need|want|would|like|to|report|a|an|the|repair|repairs|"
    r"something|fixed|fix|fixing|please|problem|issue|job|can|you|help|me|with|my|have|got|"
    r"make|making|complain|complaint|complaints|formal|about|am|unhappy|not|happy|"
    r"anti-social|antisocial|anti|social|behaviour|behavior|asb|\s|[.,!?'])*$",
    re.I,
)


def _specific(value: Any) -> str | None:
    """The answer as text, or None when it says nothing yet (the form asks again)."""
    text = _text(value)
    return None if not text or _VAGUE.match(text) else text


def yes_no(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value or "").strip()
    if text.startswith("/affirm"):
        return True
    if text.startswith("/deny"):
        return False
    if NO.search(text):
        return False
    if YES.search(text):
        return True
    return None


def _text(value: Any) -> str:
    return " ".join(str(value or "").split())[:1000]


class ValidateRepairForm(FormValidationAction):  # type: ignore[misc]
    """Repair: what, where, is anyone at risk, is it the only toilet, access times."""

    def name(self) -> str:
        return "validate_repair_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        slots = ["repair_what", "repair_where", "anyone_at_risk"]
        if TOILET.search(str(tracker.get_slot("repair_what") or "")):
            slots.append("only_toilet")
        if not tracker.get_slot("repair_emergency"):
            slots.append("access_times")
        return slots

    def validate_repair_what(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        text = _specific(value)
        if text is None:
            return {"repair_what": None}
        meta = doorstep_meta(tracker)
        # Hazard rules (gas, fire, water near electrics...) already made it an emergency.
        emergency = meta.get("urgency") == "emergency" or bool(meta.get("hazards"))
        return {"repair_what": text, "repair_emergency": emergency or None}

    def validate_repair_where(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        text = _text(value)
        return {"repair_where": text or None}

    def validate_anyone_at_risk(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        answer = yes_no(value)
        if answer is None and VULNERABLE.search(str(value or "")):
            answer = True  # they described someone at risk rather than saying yes
        if answer is None:
            dispatcher.utter_message(response="utter_yes_or_no")
            return {"anyone_at_risk": None}
        result: dict[str, Any] = {"anyone_at_risk": answer}
        if answer:
            result["repair_emergency"] = True
        return result

    def validate_only_toilet(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        answer = yes_no(value)
        if answer is None:
            dispatcher.utter_message(response="utter_yes_or_no")
            return {"only_toilet": None}
        result: dict[str, Any] = {"only_toilet": answer}
        if answer:
            result["repair_emergency"] = True  # the only toilet not working: an emergency
        return result

    def validate_access_times(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return {"access_times": _text(value) or None}


class ValidateAsbForm(FormValidationAction):  # type: ignore[misc]
    """ASB: what, when, is anyone in danger (999 at once), is it a hate crime."""

    def name(self) -> str:
        return "validate_asb_form"

    def validate_asb_what(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return {"asb_what": _specific(value)}

    def validate_asb_when(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return {"asb_when": _text(value) or None}

    def validate_asb_danger(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        answer = yes_no(value)
        if answer is None:
            dispatcher.utter_message(response="utter_yes_or_no")
            return {"asb_danger": None}
        if answer:
            dispatcher.utter_message(response="utter_call_999")  # before anything else
        return {"asb_danger": answer}

    def validate_asb_hate(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        answer = yes_no(value)
        if answer is None:
            dispatcher.utter_message(response="utter_yes_or_no")
            return {"asb_hate": None}
        return {"asb_hate": answer}


class ValidateComplaintForm(FormValidationAction):  # type: ignore[misc]
    """Complaint: what happened, what outcome they want, is it a complaint."""

    def name(self) -> str:
        return "validate_complaint_form"

    def validate_complaint_what(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return {"complaint_what": _specific(value)}

    def validate_complaint_outcome(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return {"complaint_outcome": _text(value) or None}

    def validate_complaint_confirm(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        answer = yes_no(value)
        if answer is None:
            dispatcher.utter_message(response="utter_yes_or_no")
            return {"complaint_confirm": None}
        return {"complaint_confirm": answer}


class ValidateAppointmentForm(FormValidationAction):  # type: ignore[misc]
    """Changing an appointment: when would suit them instead."""

    def name(self) -> str:
        return "validate_appointment_form"

    def validate_appointment_preferred(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
    ) -> dict[str, Any]:
        return {"appointment_preferred": _text(value) or None}
