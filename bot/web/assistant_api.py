"""The internal API Rasa's custom actions call (`actions/rasa/`): thin routes over
`bot.conversation.service.AssistantService`, authenticated with a bearer token of the
`assistant` scope (`doorstep token add`; bot/web/api_auth.py). The action server runs in
Rasa's own Python (pydantic 1, SQLAlchemy 1.4), so it never imports Doorstep: it talks to
Doorstep over HTTP, like any other channel would.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, Field

from actions.appointment_requests import resident_request, upcoming_for
from actions.appointments import Context
from bot.bootstrap import App
from bot.conversation.service import AssistantError, AssistantService, RequestIn
from bot.domain.safety import GAS_EMERGENCY, what_to_do_now
from bot.errors import DoorstepError, http_status
from bot.web.api_auth import require


class _Request(BaseModel):
    conversation_id: str = Field(min_length=1, max_length=300)
    channel: str = "webchat"
    sender: str | None = Field(default=None, max_length=320)
    reference: str | None = Field(default=None, max_length=40)
    summary: str | None = Field(default=None, max_length=4000)
    details: dict[str, str] = Field(default_factory=dict)

    def to_service(
        self,
        topic: str,
        *,
        urgency: str | None = None,
        intent: str | None = None,
        hazards: tuple[str, ...] = (),
    ) -> RequestIn:
        return RequestIn(
            conversation_id=self.conversation_id,
            topic=topic,
            channel=self.channel,
            sender=self.sender,
            reference=self.reference or None,
            urgency=urgency,
            intent=intent,
            hazards=hazards,
            summary=self.summary,
            details=self.details,
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
    def register(body: InteractionRequest) -> dict[str, object]:
        """Register what the conversation collected (a repair, ASB, a question)."""
        try:
            registered = service.register(
                body.to_service(
                    body.topic,
                    urgency=body.urgency,
                    intent=body.intent,
                    hazards=tuple(body.hazards),
                )
            ).as_dict()
        except AssistantError as exc:
            raise HTTPException(422, str(exc)) from exc
        # EMERGENCY: what to do now, from the one set of safety advice, for Rasa to say first.
        registered["safety"] = what_to_do_now(tuple(body.hazards))
        return registered

    @router.post("/complaint")
    def complaint(body: _Request) -> dict[str, object]:
        """COMPLAINT: mark as a stage 1 complaint; the procedure goes through the outbox."""
        try:
            return service.complaint(body.to_service("complaint")).as_dict()
        except AssistantError as exc:
            raise HTTPException(422, str(exc)) from exc

    @router.post("/handoff")
    def handoff(body: HandoffRequest) -> dict[str, object]:
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
    def answer(body: QuestionRequest) -> dict[str, object]:
        """A general question, answered from the landlord's own content, or passed on."""
        try:
            return service.answer(
                body.to_service("general", intent="general_enquiry"), body.question
            )
        except AssistantError as exc:
            raise HTTPException(422, str(exc)) from exc

    @router.get("/organisation")
    def organisation() -> dict[str, object]:
        """The landlord's contact details, for what the actions say (CONTACT)."""
        org = app.settings.organisation
        return {
            "name": org.name,
            "phone": org.phone,
            "emergency_phone": org.emergency_phone,
            "gas_emergency_phone": GAS_EMERGENCY,
            "opening_hours": org.opening_hours_text,
            "website": org.website,
            "self_service_url": org.self_service_url,
            "complaints_url": org.complaints_url,
            "office_open": app.clocks.calendar.is_open(app.now()),
        }

    appointment_ctx = Context(app.settings, app.composer, app.clocks, app.now)

    @router.get("/appointments")
    def appointments(sender: str, channel: str = "sms") -> dict[str, list[dict[str, str]]]:
        """APPT: the resident's coming appointments (only their own)."""
        found = upcoming_for(app.engine, appointment_ctx, channel=channel, address=sender)
        return {"appointments": [a.as_dict() for a in found]}

    @router.post("/appointments/{job_reference}")
    def change_appointment(job_reference: str, body: AppointmentChange) -> dict[str, str]:
        """APPT: the resident cancels or asks to change one of their appointments."""
        try:
            message = resident_request(
                app.engine,
                appointment_ctx,
                job_reference=job_reference,
                action=body.action,
                preferred=body.preferred,
                channel=body.channel,
                address=body.sender or body.conversation_id,
            )
        except DoorstepError as exc:
            raise HTTPException(http_status(exc), str(exc)) from exc
        return {"message": message}

    return router
