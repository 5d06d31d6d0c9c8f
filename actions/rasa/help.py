"""Questions, appointments, a person, and the fallback that hands over instead of looping."""

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
)

# After this many misunderstood messages in a row, a person takes over (no loops).
FALLBACKS_BEFORE_HANDOFF = 2


def handoff(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> list[EventType]:
    """HANDOFF: in office hours the team takes over; out of hours a promise and a deadline."""
    meta = doorstep_meta(tracker)
    body = base_request(tracker, topic=meta.get("topic") or "general", reason=reason)
    try:
        result = client().post("/api/assistant/handoff", body)
    except DoorstepUnavailable:
        dispatcher.utter_message(
            text=f"Sorry, I cannot pass you to a person just now. {GENERIC_CONTACT}"
        )
        return []
    if result.get("office_open"):
        text = (
            f"I am passing you to the {result['team_name']} now. Someone will reply in this "
            f"conversation as soon as they can, and {result['deadline']} at the latest. "
            f"You can also call {result['phone']}."
        )
    else:
        text = (
            f"Our office is closed now. The {result['team_name']} will reply to you "
            f"{result['deadline']}. Your reference is {result['reference']}. "
            f"Opening hours: {result['opening_hours']}. For an emergency repair, call our "
            f"24-hour line on {result['emergency_phone']}. If anyone is in danger, call 999."
        )
    dispatcher.utter_message(text=text)
    return [SlotSet("reference", result.get("reference"))]


class HandOff(Action):  # type: ignore[misc]
    def name(self) -> str:
        return "action_handoff"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return handoff(dispatcher, tracker, "asked for a person")


class Fallback(Action):  # type: ignore[misc]
    """Not understood: say so once with what I can do; the next time, hand over."""

    def name(self) -> str:
        return "action_doorstep_fallback"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        misses = 0
        for event in reversed(tracker.events):
            if event.get("event") != "user":
                continue
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if intent != "nlu_fallback":
                break
            misses += 1
        if misses >= FALLBACKS_BEFORE_HANDOFF:
            return handoff(dispatcher, tracker, "the assistant did not understand")
        dispatcher.utter_message(response="utter_rephrase")
        return []


class AnswerQuestion(Action):  # type: ignore[misc]
    """A general question, answered from the landlord's own content when we can."""

    def name(self) -> str:
        return "action_answer_question"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        question = str((tracker.latest_message or {}).get("text") or "")
        try:
            result = client().post(
                "/api/assistant/answer", base_request(tracker, question=question)
            )
        except DoorstepUnavailable:
            dispatcher.utter_message(
                text=f"Sorry, I cannot answer that just now. {GENERIC_CONTACT}"
            )
            return []
        dispatcher.utter_message(text=result["answer"])
        return [SlotSet("reference", result.get("reference"))] if result.get("reference") else []


class CancelAppointment(Action):  # type: ignore[misc]
    def name(self) -> str:
        return "action_cancel_appointment"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return _appointment(dispatcher, tracker, "cancel", None)


class ChangeAppointment(Action):  # type: ignore[misc]
    def name(self) -> str:
        return "action_change_appointment"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        preferred = tracker.get_slot("appointment_preferred")
        return [
            *_appointment(dispatcher, tracker, "change", preferred),
            SlotSet("appointment_preferred", None),
        ]


def _appointment(
    dispatcher: CollectingDispatcher, tracker: Tracker, action: str, preferred: str | None
) -> list[EventType]:
    """APPT: change or cancel the next appointment; when Doorstep cannot do it itself, the
    request goes to the team with a HANDOFF promise."""
    body = base_request(tracker, action=action, preferred=preferred)
    try:
        found = client().get(
            "/api/assistant/appointments", sender=body["sender"], channel=body["channel"]
        )
        upcoming = found.get("appointments") or []
    except DoorstepUnavailable:
        upcoming = []
    if upcoming:
        job = upcoming[0]
        try:
            result = client().post(f"/api/assistant/appointments/{job['job_reference']}", body)
        except DoorstepUnavailable:
            result = {}
        if result.get("message"):
            dispatcher.utter_message(text=str(result["message"]))
            return []
    wish = f" You would prefer: {preferred}." if preferred else ""
    return handoff(dispatcher, tracker, f"resident wants to {action} an appointment.{wish}")
