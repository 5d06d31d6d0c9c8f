"""The internal API Rasa's custom actions call (`actions/rasa/`): thin routes over
`bot.conversation.service.AssistantService`, authenticated with a bearer token of the
`assistant` scope (`doorstep token add`; bot/web/api_auth.py). The action server runs in
Rasa's own Python (pydantic 1, SQLAlchemy 1.4), so it never imports Doorstep: it talks to
Doorstep over HTTP, like any other channel would.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from bot.bootstrap import App
from bot.conversation.service import AssistantError, AssistantService, RequestIn
from bot.web.api_auth import require


class _Request(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=300)
    channel: str = "webchat"
    sender: str | None = Field(default=None, max_length=320)
    reference: str | None = Field(default=None, max_length=40)
    summary: str | None = Field(default=None, max_length=4000)
    details: dict[str, str] = Field(default_factory=dict)

    def to_service(self, topic: str, **extra: Any) -> RequestIn:
        return RequestIn(
            conversation_id=self.conversation_id,
            topic=topic,
            channel=self.channel,
            sender=self.sender,
            reference=self.reference or None,
            summary=self.summary,
            details=self.details,
            **extra,
        )


class InteractionRequest(_Request):
    topic: str = "general"
    urgency: str | None = None
    intent: str | None = Field(default=None, max_length=40)
    hazards: list[str] = Field(default_factory=list)


class HandoffRequest(_Request):
    topic: str = "general"
    reason: str = "asked for a person"


class QuestionRequest(_Request):
    question: str = Field(max_length=4000)


class AppointmentChange(_Request):
    action: str = Field(pattern="^(cancel|change)$")
    preferred: str | None = Field(default=None, max_length=500)


def build_router(app: App) -> APIRouter:
    service = AssistantService(app)

    router = APIRouter(prefix="/api/assistant", dependencies=[Depends(require("assistant"))])

    @router.post("/interactions")
    def register(body: InteractionRequest) -> dict[str, Any]:
        """Register what the conversation collected (a repair, ASB, a question)."""
        try:
            return service.register(
                body.to_service(
                    body.topic,
                    urgency=body.urgency,
                    intent=body.intent,
                    hazards=tuple(body.hazards),
                )
            ).as_dict()
        except AssistantError as exc:
            raise HTTPException(422, str(exc)) from exc

    @router.post("/complaint")
    def complaint(body: _Request) -> dict[str, Any]:
        """COMPLAINT: mark as a stage 1 complaint; the procedure goes through the outbox."""
        try:
            return service.complaint(body.to_service("complaint")).as_dict()
        except AssistantError as exc:
            raise HTTPException(422, str(exc)) from exc

    @router.post("/handoff")
    def handoff(body: HandoffRequest) -> dict[str, Any]:
        """HANDOFF: a person takes over (office hours) or promises a reply (out of hours)."""
        try:
            result = service.handoff(body.to_service(body.topic), body.reason)
        except AssistantError as exc:
            raise HTTPException(422, str(exc)) from exc
        org = app.settings.organisation
        return {
            **result.as_dict(),
            "phone": org.phone,
            "opening_hours": org.opening_hours_text,
            "emergency_phone": org.emergency_phone,
        }

    @router.post("/answer")
    def answer(body: QuestionRequest) -> dict[str, Any]:
        """A general question, answered from the landlord's own content, or passed on."""
        try:
            return service.answer(
                body.to_service("general", intent="general_enquiry"), body.question
            )
        except AssistantError as exc:
            raise HTTPException(422, str(exc)) from exc

    @router.get("/organisation")
    def organisation() -> dict[str, Any]:
        """The landlord's contact details, for what the actions say (CONTACT)."""
        org = app.settings.organisation
        return {
            "name": org.name,
            "phone": org.phone,
            "emergency_phone": org.emergency_phone,
            "opening_hours": org.opening_hours_text,
            "website": org.website,
            "self_service_url": org.self_service_url,
            "complaints_url": org.complaints_url,
            "office_open": app.clocks.calendar.is_open(app.now()),
        }

    @router.get("/appointments")
    def appointments(request: Request, sender: str, channel: str = "sms") -> dict[str, Any]:
        """APPT: the resident's coming appointments (from actions.appointments)."""
        module = service.appointments_module()
        lookup = getattr(module, "upcoming_for_contact", None) if module else None
        if lookup is None:
            raise HTTPException(501, "appointments are not available")
        found = lookup(app, channel=channel, address=sender)
        return {"appointments": [dict(a) for a in found]}

    @router.post("/appointments/{job_reference}")
    def change_appointment(job_reference: str, body: AppointmentChange) -> dict[str, Any]:
        """APPT: the resident cancels or asks to change an appointment."""
        module = service.appointments_module()
        change = getattr(module, "resident_request", None) if module else None
        if change is None:
            raise HTTPException(501, "appointments are not available")
        result = change(
            app,
            job_reference=job_reference,
            action=body.action,
            preferred=body.preferred,
            channel=body.channel,
            address=body.sender or body.conversation_id,
        )
        return dict(result)

    return router
