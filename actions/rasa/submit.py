"""What happens when a conversation has what it needs: the request is registered in Doorstep
(same interaction, clocks and outbox as any email), and the resident is told their
reference, who deals with it and by when, in plain words, with a way to contact us."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.rasa.common import (
    GENERIC_CONTACT,
    DoorstepUnavailable,
    base_request,
    client,
    doorstep_meta,
    organisation,
)

GAS_LINE = "0800 111 999"  # only when Doorstep is unreachable: bot/domain/safety.py
REPAIR_SLOTS = (
    "repair_what",
    "repair_where",
    "anyone_at_risk",
    "only_toilet",
    "access_times",
    "repair_emergency",
)
ASB_SLOTS = ("asb_what", "asb_when", "asb_danger", "asb_hate")
COMPLAINT_SLOTS = ("complaint_what", "complaint_outcome", "complaint_confirm")


def _reset(names: tuple[str, ...]) -> list[EventType]:
    return [SlotSet(name, None) for name in names]


def _contact_line() -> str:
    org = organisation()
    if org.get("phone"):
        return f"To contact us, call {org['phone']} ({org.get('opening_hours', '')})."
    return GENERIC_CONTACT


def _unavailable(dispatcher: CollectingDispatcher, what: str) -> None:
    dispatcher.utter_message(text=f"Sorry, I could not {what} just now. {GENERIC_CONTACT}")


class SubmitRepair(Action):  # type: ignore[misc]
    def name(self) -> str:
        return "action_submit_repair"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        meta = doorstep_meta(tracker)
        emergency = bool(tracker.get_slot("repair_emergency"))
        details = {
            "what": tracker.get_slot("repair_what") or "",
            "where": tracker.get_slot("repair_where") or "",
            "anyone_at_risk": str(tracker.get_slot("anyone_at_risk")),
            "only_toilet": str(tracker.get_slot("only_toilet")),
            "access_times": tracker.get_slot("access_times") or "",
        }
        body = base_request(
            tracker,
            topic="repair",
            urgency="emergency" if emergency else None,
            intent=meta.get("intent") if meta.get("topic") == "repair" else "report_repair",
            hazards=list(meta.get("hazards") or []),
            summary=f"{details['what']} ({details['where']})",
            details=details,
        )
        org = organisation()
        events = _reset(REPAIR_SLOTS)
        try:
            result = client().post("/api/assistant/interactions", body)
        except DoorstepUnavailable:
            result = {}
        line = org.get("emergency_phone")
        if emergency or result.get("urgency") == "emergency":
            # EMERGENCY: the triage ends with the 24-hour line, whatever else happens.
            number = f" on {line}" if line else " (the number is on our website)"
            # What to do now opens the reply, from Doorstep's one set of safety advice
            # (bot/domain/safety.py); the gas line here only when Doorstep did not answer.
            safety = [str(x) for x in result.get("safety") or []]
            if not safety and "gas" in (meta.get("hazards") or []):
                safety = [f"If you smell gas, leave the home now. Do not use switches or "
                          f"flames. Call {GAS_LINE}."]  # fmt: skip
            text = " ".join(safety)
            text += f" This is an emergency. Please call our 24-hour repairs line now{number}."
            if not any("999" in x for x in safety):
                text += " If anyone is in danger, call 999."
            text = text.strip()
            if result.get("reference"):
                text += f" Your reference is {result['reference']}."
            dispatcher.utter_message(text=text)
            return [*events, SlotSet("reference", result.get("reference"))]
        if not result:
            _unavailable(dispatcher, "log your repair")
            return events
        dispatcher.utter_message(
            text=(
                f"Thank you. I have logged your repair. Your reference is {result['reference']}. "
                f"The {result['team_name']} will contact you {result['deadline']} to arrange it. "
                "Photos help us: you can send them in this conversation. " + _contact_line()
            )
        )
        return [*events, SlotSet("reference", result["reference"])]


class SubmitAsb(Action):  # type: ignore[misc]
    def name(self) -> str:
        return "action_submit_asb"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        danger = bool(tracker.get_slot("asb_danger"))
        hate = bool(tracker.get_slot("asb_hate"))
        details = {
            "what": tracker.get_slot("asb_what") or "",
            "when": tracker.get_slot("asb_when") or "",
            "anyone_in_danger": str(danger),
            "hate_crime": str(hate),
        }
        body = base_request(
            tracker,
            topic="asb",
            urgency="urgent" if danger or hate else "routine",  # ASB: 1 or 5 working days
            intent="report_asb",
            summary=details["what"],
            details=details,
        )
        events = _reset(ASB_SLOTS)
        try:
            result = client().post("/api/assistant/interactions", body)
        except DoorstepUnavailable:
            _unavailable(dispatcher, "log your report")
            if danger:
                dispatcher.utter_message(response="utter_call_999")
            return events
        text = (
            f"Thank you for telling us. Your reference is {result['reference']}. "
            f"The {result['team_name']} will contact you {result['deadline']}."
        )
        if hate:
            text += (
                " Hate crime is taken seriously. You can also report it to the police on 101, "
                "or online at www.report-it.org.uk."
            )
        text += " If anyone is in danger now, call 999. " + _contact_line()
        dispatcher.utter_message(text=text)
        return [*events, SlotSet("reference", result["reference"])]


class SubmitComplaint(Action):  # type: ignore[misc]
    def name(self) -> str:
        return "action_submit_complaint"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        details = {
            "what_happened": tracker.get_slot("complaint_what") or "",
            "outcome_wanted": tracker.get_slot("complaint_outcome") or "",
        }
        confirmed = bool(tracker.get_slot("complaint_confirm"))
        events = _reset(COMPLAINT_SLOTS)
        try:
            if confirmed:
                result = client().post(
                    "/api/assistant/complaint",
                    base_request(tracker, summary=details["what_happened"], details=details),
                )
            else:
                result = client().post(
                    "/api/assistant/interactions",
                    base_request(
                        tracker,
                        topic="general",
                        summary=details["what_happened"],
                        details=details,
                    ),
                )
        except DoorstepUnavailable:
            _unavailable(dispatcher, "pass this on")
            return events
        if confirmed:
            # COMPLAINT: the procedure goes at once through the outbox (mark_as_complaint).
            dispatcher.utter_message(
                text=(
                    f"We are sorry. We are treating this as a complaint. "
                    f"Your reference is {result['reference']}. "
                    "We have sent you our complaints procedure. "
                    f"We will contact you {result['deadline']} to check we understand it. "
                    + _contact_line()
                )
            )
        else:
            dispatcher.utter_message(
                text=(
                    f"Thank you. The {result['team_name']} will look into this and reply "
                    f"{result['deadline']}. Your reference is {result['reference']}. "
                    "You can make a complaint at any time. " + _contact_line()
                )
            )
        return [*events, SlotSet("reference", result["reference"])]
