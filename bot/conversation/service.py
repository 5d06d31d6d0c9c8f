"""What Rasa's custom actions ask Doorstep to do, built on the same service functions the
pipeline and the staff actions use (so a conversation in Rasa and an email end up as the
same kind of interaction, with the same clocks).

- `register`: the repair / ASB / general request a conversation collected. Normally the
  pipeline has already opened the interaction for the conversation's first message; this
  records the details, re-classifies it (the conversation knows better than the first
  message: "hi" became a repair) and starts the promises the new plan adds (HANDOFF, RESP-10,
  ASB, Awaab's Law: `bot.domain.promises.plan_for`). Without a reference (a conversation that
  reached Rasa directly, not through Doorstep) it opens a new interaction.
- `complaint`: COMPLAINT, through `actions.complaints.mark_as_complaint` (procedure sent at
  once through the outbox, stage 1 clocks, complaints team notified).
- `handoff`: HANDOFF in office hours (the team is told and its clock runs), a promise and a
  deadline out of hours.
- appointments: APPT, through `actions.appointments` when that module is there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from actions.wording import deadline_in_words
from bot.bootstrap import App
from bot.conversation.answers import landlord_answer
from bot.domain.model import Channel, Topic, Urgency
from bot.domain.promises import plan_for, response_policy
from bot.service.joining import is_own_resident
from bot.service.pipeline import IDENTITY_KIND
from bot.storage import tables as t
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork

ASSISTANT_EMAIL = "assistant@doorstep.invalid"
_SEVERITY = {Urgency.ROUTINE: 0, Urgency.URGENT: 1, Urgency.EMERGENCY: 2}


class AssistantError(ValueError):
    """A request the assistant API cannot do (the message says why)."""


@dataclass(frozen=True, slots=True)
class RequestIn:
    conversation_id: str
    topic: str
    channel: str = "webchat"
    sender: str | None = None
    reference: str | None = None
    urgency: str | None = None
    intent: str | None = None
    hazards: tuple[str, ...] = ()
    summary: str | None = None
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Registered:
    reference: str
    interaction_id: int
    topic: str
    urgency: str
    team: str
    team_name: str
    deadline: str  # in words: "by 5pm on Wednesday 30 December"
    deadline_at: datetime
    office_open: bool
    created: bool
    detail: dict[str, object] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "reference": self.reference,
            "interaction_id": self.interaction_id,
            "topic": self.topic,
            "urgency": self.urgency,
            "team": self.team,
            "team_name": self.team_name,
            "deadline": self.deadline,
            "deadline_at": self.deadline_at.isoformat(),
            "office_open": self.office_open,
            "created": self.created,
            **self.detail,
        }


def _topic(value: str) -> Topic:
    try:
        return Topic(value)
    except ValueError:
        raise AssistantError(f"unknown topic {value!r}") from None


def _urgency(value: str | None) -> Urgency | None:
    if value is None:
        return None
    try:
        return Urgency(value)
    except ValueError:
        raise AssistantError(f"unknown urgency {value!r}") from None


def _channel(value: str) -> Channel:
    try:
        return Channel(value)
    except ValueError:
        return Channel.WEBCHAT  # Rasa's own channels (rest, shell) behave like a chat


class AssistantService:
    def __init__(self, app: App) -> None:
        self.app = app

    # ---- register (repair, ASB, general) -----------------------------------------------

    def register(self, req: RequestIn) -> Registered:
        now = self.app.now()
        topic = _topic(req.topic)
        wanted = _urgency(req.urgency)
        with UnitOfWork(self.app.engine, self.app.now) as uow:
            row_id, created = self._find_or_open(uow, req, topic, wanted or Urgency.ROUTINE, now)
            current = uow.get_interaction(row_id)
            # Never lower an urgency the rules (hazards) or staff already raised.
            urgency = Urgency(current.urgency)
            if wanted is not None and _SEVERITY[wanted] > _SEVERITY[urgency]:
                urgency = wanted
            if created or current.topic != topic.value or current.urgency != urgency.value:
                self._reclassify(uow, row_id, topic, urgency, req.intent, current.owner, now)
            policy = self._apply_plan(uow, row_id, topic, urgency, req.intent, req.hazards)
            uow.add_event(
                row_id,
                f"assistant_{topic.value}_request",
                {
                    "conversation_id": req.conversation_id,
                    "summary": (req.summary or "")[:2000],
                    "details": {k: str(v)[:1000] for k, v in req.details.items()},
                    "urgency": urgency.value,
                },
            )
            result = self._registered(uow, row_id, policy, created, now)
            uow.commit()
        return result

    # ---- COMPLAINT -----------------------------------------------------------------------

    def complaint(self, req: RequestIn) -> Registered:
        from actions.complaints import mark_as_complaint
        from actions.replies import ActionError, Actor

        now = self.app.now()
        with UnitOfWork(self.app.engine, self.app.now) as uow:
            row_id, created = self._find_or_open(uow, req, Topic.COMPLAINT, Urgency.ROUTINE, now)
            actor = Actor(email=ASSISTANT_EMAIL, name="Doorstep assistant", role="assistant")
            procedure_sent = True
            try:
                mark_as_complaint(uow, self.app, row_id, actor=actor, now=now)
            except ActionError:
                # Already a complaint: the pipeline sent the procedure with its acknowledgement.
                procedure_sent = False
            uow.add_event(
                row_id,
                "assistant_complaint",
                {
                    "conversation_id": req.conversation_id,
                    "what_happened": req.details.get("what_happened", "")[:2000],
                    "outcome_wanted": req.details.get("outcome_wanted", "")[:2000],
                },
            )
            result = self._registered(
                uow, row_id, "complaint-stage1-ack", created, now, procedure_sent=procedure_sent
            )
            uow.commit()
        return result

    # ---- HANDOFF -------------------------------------------------------------------------

    def handoff(self, req: RequestIn, reason: str) -> Registered:
        from actions.handoff import handoff_policy

        now = self.app.now()
        office_open = self.app.clocks.calendar.is_open(now)
        with UnitOfWork(self.app.engine, self.app.now) as uow:
            topic = _topic(req.topic)
            row_id, created = self._find_or_open(uow, req, topic, Urgency.ROUTINE, now)
            interactions = SqlInteractions(uow)
            row = interactions.get(row_id)
            policy = handoff_policy(row.urgency)
            row.request_handoff(
                self.app.clocks,
                policy=policy,
                reason=reason[:500],
                by="assistant",
                at=now,
                detail={"conversation_id": req.conversation_id, "office_open": office_open},
            )
            interactions.save(row)
            result = self._registered(uow, row_id, policy, created, now)
            uow.commit()
        return result

    # ---- helpers -------------------------------------------------------------------------

    def _find_or_open(
        self, uow: UnitOfWork, req: RequestIn, topic: Topic, urgency: Urgency, now: datetime
    ) -> tuple[int, bool]:
        if req.reference:
            found = uow.interaction_by_reference(req.reference)
            if found is None:
                raise AssistantError(f"no interaction {req.reference}")
            # PRIVACY: a conversation acts only on its own resident's case (joining.py).
            if req.sender and not is_own_resident(uow, found.id, _channel(req.channel), req.sender):
                raise AssistantError(f"{req.reference} is not this conversation's case")
            return found.id, False
        # A conversation that reached Rasa without Doorstep: open the interaction here, as the
        # pipeline would have (contact, routing, clocks below in _apply_plan).
        channel = _channel(req.channel)
        sender = req.sender or req.conversation_id
        contact_id = uow.contact_for(IDENTITY_KIND[channel], sender)
        team = self.app.pipeline.route(channel, topic, urgency, None)
        row = uow.create_interaction(
            prefix=self.app.settings.organisation.reference_prefix,
            contact_id=contact_id,
            channel=channel.value,
            topic=topic.value,
            urgency=urgency.value,
            intent=req.intent,
            team=team,
            owner=None,
            subject=(req.summary or "")[:200] or None,
            address=sender,
            classification=None,
            now=now,
        )
        uow.add_event(
            row.id, "created", {"source": "assistant", "conversation_id": req.conversation_id}
        )
        self._apply_plan(uow, row.id, topic, urgency, req.intent, req.hazards)
        return row.id, True

    def _reclassify(
        self,
        uow: UnitOfWork,
        row_id: int,
        topic: Topic,
        urgency: Urgency,
        intent: str | None,
        owner: str | None,
        now: datetime,
    ) -> None:
        interactions = SqlInteractions(uow)
        row = interactions.get(row_id)
        # Route again when nobody owns it: the conversation found the real topic (HANDOFF:
        # the right team).
        team = (
            self.app.pipeline.route(Channel(row.channel), topic, urgency, None)
            if owner is None
            else None
        )
        row.reclassify(
            topic=topic.value,
            urgency=urgency.value,
            intent=intent,
            team=team,
            by="assistant",
            at=now,
        )
        interactions.save(row)

    def _apply_plan(
        self,
        uow: UnitOfWork,
        row_id: int,
        topic: Topic,
        urgency: Urgency,
        intent: str | None,
        hazards: tuple[str, ...],
    ) -> str:
        """Start the clocks the plan for this topic and urgency needs and that are not there
        yet, counted from when the resident first wrote. Returns the policy whose deadline we
        tell the resident (the same choice the pipeline makes for its acknowledgement)."""
        interactions = SqlInteractions(uow)
        case = interactions.get(row_id)
        received = uow.conn.execute(
            sa.select(t.interactions.c.created_at).where(t.interactions.c.id == row_id)
        ).scalar_one()
        plan = plan_for(Channel(case.channel), topic, urgency, intent=intent, hazards=hazards)
        # Every clock the case ever had, settled ones too: the aggregate holds only the open
        # ones, and a promise already kept (the acknowledgement sent) is not made again.
        have = {s.clock.policy for s in self.app.clocks.clocks_for(uow.conn, row_id)}
        # Complaint clocks are started by mark_as_complaint.
        wanted = [
            policy
            for policy in (plan.acknowledge, *plan.respond)
            if policy not in have and not (plan.complaint and policy.startswith("complaint-"))
        ]
        case.make_promises(
            self.app.clocks,
            wanted,
            by="assistant",
            reason=f"the conversation's {topic.value} request",
            at=self.app.now(),
            since=received,
        )
        interactions.save(case)
        return response_policy(plan)

    def _registered(
        self,
        uow: UnitOfWork,
        row_id: int,
        policy: str,
        created: bool,
        now: datetime,
        **detail: object,
    ) -> Registered:
        row = uow.get_interaction(row_id)
        running = self.app.clocks.open_clocks(uow.conn, row_id, (policy,))
        due = running[0].clock.due_at if running else self.app.clocks.deadline(policy, now)
        return Registered(
            reference=row.reference,
            interaction_id=row.id,
            topic=row.topic,
            urgency=row.urgency,
            team=row.team,
            team_name=self.app.settings.team(row.team).name,
            deadline=deadline_in_words(due, now=now),
            deadline_at=due,
            office_open=self.app.clocks.calendar.is_open(now),
            created=created,
            detail=detail,
        )

    # ---- questions (AUTO-ACK: signpost self-service) ---------------------------------------

    def answer(self, req: RequestIn, question: str) -> dict[str, object]:
        """Answer from the landlord's own content (config.yml `organisation`); a question we
        cannot answer goes to the team with the general promise and its deadline."""
        found = landlord_answer(self.app.settings.organisation, question)
        if found is not None:
            return {"answer": found, "answered": True, "reference": req.reference}
        registered = self.register(req)
        org = self.app.settings.organisation
        return {
            "answer": (
                f"I have passed your question to the {registered.team_name}. They will reply "
                f"{registered.deadline}. Your reference is {registered.reference}. "
                f"You can also call {org.phone} ({org.opening_hours_text})."
            ),
            "answered": False,
            "reference": registered.reference,
        }
