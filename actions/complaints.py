"""COMPLAINT: the two-stage complaint workflow (Housing Ombudsman Complaint Handling Code).

Stage 1: the procedure goes to the resident at once (`complaint-procedure-1`), the complaint
is acknowledged within the Code's timescale (`complaint-stage1-ack`) and answered within
10 working days of that acknowledgement (`complaint-stage1-response`). An extension needs a
reason, stays within the allowed extension, and the resident is told, with the Ombudsman's
details. Stage 2 (`complaint-stage2-ack`, then `complaint-stage2-response`) must be handled
by a different person than stage 1. The complaints team (and the handler) are notified at
each step: an event, plus an email through the outbox when the team has an address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from actions.handoff import person_name
from actions.replies import (
    ActionError,
    Actor,
    Case,
    Services,
    enqueue_to_resident,
    load_case,
    render,
)
from actions.wording import deadline_in_words
from bot.domain.model import Channel, OutboundMessage
from bot.service.language import ContactLanguage, voice_for
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork, idempotency_key
from bot.storage.tables_staff import complaint_handlers, staff_users
from sla import Clock

OMBUDSMAN_PHONE = "0300 111 3000"
HANDLER_ROLES = ("complaints_handler", "team_lead", "admin")


def ack_policy(stage: int) -> str:
    return f"complaint-stage{stage}-ack"


def response_policy(stage: int) -> str:
    return f"complaint-stage{stage}-response"


@dataclass(frozen=True, slots=True)
class StageHandler:
    stage: int
    handler: str
    assigned_at: datetime
    acknowledged_at: datetime | None
    responded_at: datetime | None


def current_stage(case: Case) -> int | None:
    """A message classified as a complaint is a stage 1 complaint before anyone touches it."""
    if case.complaint_stage is not None:
        return case.complaint_stage
    return 1 if case.topic == "complaint" else None


def stage_handlers(conn: sa.Connection, interaction_id: int) -> dict[int, StageHandler]:
    c = complaint_handlers.c
    rows = conn.execute(
        sa.select(c.stage, c.handler, c.assigned_at, c.acknowledged_at, c.responded_at).where(
            c.interaction_id == interaction_id
        )
    ).all()
    return {int(r.stage): StageHandler(*r) for r in rows}


def allowed_extension_days(services: Services, stage: int) -> int:
    """The most working days a stage's answer may be put back in total: the policy's own
    limit when the sla policy declares one, else the configured Code figure."""
    policy = services.clocks.policies.get(response_policy(stage))
    for name in ("max_extension_days", "max_extension", "extension_days"):
        value = getattr(policy, name, None)
        if isinstance(value, int) and value > 0:
            return value
    dash = services.settings.dashboard
    return dash.stage1_max_extension_days if stage == 1 else dash.stage2_max_extension_days


def _require_handler(conn: sa.Connection, email: str) -> str:
    email = email.strip().lower()
    row = conn.execute(
        sa.select(staff_users.c.role, staff_users.c.active).where(staff_users.c.email == email)
    ).first()
    if row is None or not row.active or row.role not in HANDLER_ROLES:
        raise ActionError("Choose a complaints handler.")
    return email


def _name(conn: sa.Connection, email: str) -> str:
    return person_name(conn, email) or email


def _set_stage(uow: UnitOfWork, case: Case, stage: int, owner: str | None, now: datetime) -> None:
    interactions = SqlInteractions(uow)
    interaction = interactions.get(case.id)
    interaction.assign(topic="complaint", complaint_stage=stage, owner=owner, at=now)
    interactions.save(interaction)


def _change_clocks(
    uow: UnitOfWork,
    case: Case,
    *,
    services: Services,
    by: str,
    reason: str,
    at: datetime,
    keep: tuple[str, ...] = (),
    start: tuple[str, ...] = (),
) -> list[Clock]:
    """A step of the procedure keeps the promises of `keep` (met, or breached when late)
    and makes those of `start`, through the aggregate; returns the clocks started."""
    interactions = SqlInteractions(uow)
    interaction = interactions.get(case.id)
    if keep:
        interaction.keep_promises(keep, by=by, reason=reason, at=at)
    started = interaction.make_promises(services.clocks, start, by=by, reason=reason, at=at)
    interactions.save(interaction)
    return started


def _move_to_complaints_team(uow: UnitOfWork, services: Services, case: Case) -> None:
    team = services.settings.dashboard.complaints_team
    if any(x.id == team for x in services.settings.teams) and case.team != team:
        interactions = SqlInteractions(uow)
        interaction = interactions.get(case.id)
        interaction.assign(team=team, at=uow.now())
        interactions.save(interaction)


def notify(
    uow: UnitOfWork,
    services: Services,
    case: Case,
    *,
    what: str,
    headline: str,
    stage: int,
    handler: str | None,
    deadline: datetime | None,
    detail: str,
    now: datetime,
) -> list[str]:
    """Tell the complaints team and the handler: an event (live dashboard) and an email
    through the outbox to each configured address. Returns the addresses written to."""
    recipients: list[str] = []
    team = services.settings.dashboard.complaints_team
    for x in services.settings.teams:
        if x.id == team and x.email:
            recipients.append(x.email.lower())
    if handler and handler.lower() not in recipients:
        recipients.append(handler.lower())
    handler_name = _name(uow.conn, handler) if handler else "not assigned yet"
    body = services.composer.render(
        "complaint_notify.txt.j2",
        headline=headline,
        reference=case.reference,
        stage=stage,
        handler_name=handler_name,
        deadline=deadline_in_words(deadline, now=now) if deadline else "",
        detail=detail,
        link=f"{services.settings.public_url.rstrip('/')}/staff/interactions/{case.id}",
    )
    for address in recipients:
        uow.enqueue(
            OutboundMessage(
                channel=Channel.EMAIL,
                recipient=address,
                body=body,
                idempotency_key=idempotency_key("notify", what, case.id, stage, address),
                subject=f"[{case.reference}] {headline}",
                sender=services.settings.email.from_address,
                kind="staff_notification",
                auto=True,
                meta={"reference": case.reference, "interaction": str(case.id)},
            )
        )
    uow.add_event(
        case.id,
        "complaint_notified",
        {"what": what, "stage": stage, "handler": handler, "to": recipients},
    )
    return recipients


def mark_as_complaint(
    uow: UnitOfWork, services: Services, interaction_id: int, *, actor: Actor, now: datetime
) -> None:
    """Staff decide a message is a complaint (the resident need not say "complaint"): it
    becomes a stage 1 complaint, the procedure goes at once, the stage 1 ack clock starts."""
    case = load_case(uow.conn, interaction_id)
    if case.status == "closed":
        raise ActionError(f"{case.reference} is closed.")
    if current_stage(case) is not None:
        raise ActionError(f"{case.reference} is already a complaint.")
    _set_stage(uow, case, 1, None, now)
    _move_to_complaints_team(uow, services, case)
    _change_clocks(
        uow,
        case,
        start=("complaint-procedure-1", ack_policy(1)),
        services=services,
        by=actor.email,
        reason="marked as a complaint",
        at=now,
    )
    ack_due = services.clocks.deadline(ack_policy(1), now)
    stage1 = services.clocks.policy(response_policy(1))
    body = services.composer.complaint_procedure(
        reference=case.reference,
        stage1_ack_deadline=ack_due,
        stage1_response_days=int(getattr(stage1, "amount", 10)),
        now=now,
        resident_name=case.resident_name,
        channel=case.channel.value,
        voice=voice_for(
            services.settings.organisation, ContactLanguage(case.language, case.language_source)
        ),
    )
    # The outbox stops complaint-procedure-1 when it is sent: the send keeps the promise.
    enqueue_to_resident(
        uow,
        services,
        case,
        body=body,
        kind="procedure",
        key=("procedure", "staff", case.id),
        auto=True,
        meta={"clock": "complaint-procedure-1"},
    )
    uow.add_event(case.id, "marked_complaint", {"by": actor.email, "stage": 1})
    notify(
        uow,
        services,
        case,
        what="new",
        headline="New stage 1 complaint",
        stage=1,
        handler=None,
        deadline=ack_due,
        detail=f"Marked as a complaint by {actor.name}.",
        now=now,
    )


def acknowledge(
    uow: UnitOfWork,
    services: Services,
    interaction_id: int,
    *,
    handler: str,
    summary: str,
    actor: Actor,
    now: datetime,
) -> datetime:
    """Acknowledge the current stage: its ack clock stops, its response clock starts from
    now (stage 1: 10 working days from the acknowledgement). Returns the answer deadline."""
    case = load_case(uow.conn, interaction_id)
    stage = current_stage(case)
    if stage is None:
        raise ActionError(f"{case.reference} is not a complaint.")
    if not summary.strip():
        # COMPLAINT: the acknowledgement tells the resident what we understand the
        # complaint is about; an empty one would send "is about:" and nothing.
        raise ActionError(
            "Write what we understand the complaint is about: the resident sees it in the "
            "acknowledgement."
        )
    handler = _require_handler(uow.conn, handler)
    handlers = stage_handlers(uow.conn, case.id)
    if stage == 2 and 1 in handlers and handlers[1].handler == handler:
        raise ActionError("Stage 2 must be handled by someone who did not handle stage 1.")
    if not services.clocks.open_clocks(uow.conn, case.id, (ack_policy(stage),)):
        raise ActionError(f"Stage {stage} has already been acknowledged.")
    (clock,) = _change_clocks(
        uow,
        case,
        keep=(ack_policy(stage),),
        start=(response_policy(stage),),
        services=services,
        by=actor.email,
        reason=f"stage {stage} complaint acknowledged",
        at=now,
    )
    _set_stage(uow, case, stage, handler, now)
    c = complaint_handlers.c
    if stage in handlers:
        uow.conn.execute(
            complaint_handlers.update()
            .where(c.interaction_id == case.id, c.stage == stage)
            .values(handler=handler, acknowledged_at=now)
        )
    else:
        uow.conn.execute(
            complaint_handlers.insert().values(
                interaction_id=case.id,
                stage=stage,
                handler=handler,
                assigned_at=now,
                acknowledged_at=now,
            )
        )
    template = "complaint_stage1_ack.txt.j2" if stage == 1 else "complaint_stage2_ack.txt.j2"
    body = render(
        services,
        template,
        case,
        handler_name=_name(uow.conn, handler),
        summary=summary.strip(),
        deadline=deadline_in_words(clock.due_at, now=now),
        ombudsman_phone=OMBUDSMAN_PHONE,
    )
    enqueue_to_resident(
        uow,
        services,
        case,
        body=body,
        kind="complaint_ack",
        key=("c-ack", case.id, stage),
        auto=False,
    )
    uow.add_event(
        case.id,
        "complaint_acknowledged",
        {"by": actor.email, "stage": stage, "handler": handler, "due_at": clock.due_at.isoformat()},
    )
    notify(
        uow,
        services,
        case,
        what="ack",
        headline=f"Stage {stage} complaint acknowledged: you are the handler",
        stage=stage,
        handler=handler,
        deadline=clock.due_at,
        detail=summary.strip(),
        now=now,
    )
    due: datetime = clock.due_at
    return due


def extend(
    uow: UnitOfWork,
    services: Services,
    interaction_id: int,
    *,
    days: int,
    reason: str,
    actor: Actor,
    now: datetime,
) -> datetime:
    """Put the current stage's answer back by `days` working days, with a reason, within
    the allowed extension; the resident is told why, the new date and the Ombudsman's
    details. Returns the new deadline."""
    reason = reason.strip()
    if not reason:
        raise ActionError("Give the reason for the extension: the resident will see it.")
    if days < 1:
        raise ActionError("An extension is at least one working day.")
    case = load_case(uow.conn, interaction_id)
    stage = current_stage(case)
    if stage is None:
        raise ActionError(f"{case.reference} is not a complaint.")
    open_clocks = services.clocks.open_clocks(uow.conn, case.id, (response_policy(stage),))
    if not open_clocks:
        raise ActionError(f"Acknowledge the stage {stage} complaint before extending it.")
    allowed = allowed_extension_days(services, stage)
    used = open_clocks[0].clock.extended_days
    if used + days > allowed:
        left = max(allowed - used, 0)
        raise ActionError(
            f"Stage {stage} can be extended by at most {allowed} working days in total; "
            f"{left} left."
        )
    interactions = SqlInteractions(uow)
    interaction = interactions.get(case.id)
    try:
        clock = interaction.extend_clock(
            services.clocks,
            response_policy(stage),
            days=days,
            reason=reason,
            by=actor.email,
            at=now,
        )
    except ValueError as exc:  # the sla policy refused it
        raise ActionError(str(exc)) from exc
    interactions.save(interaction)
    if clock is None:  # pragma: no cover - checked above
        raise ActionError("No response clock to extend.")
    body = render(
        services,
        "complaint_extension.txt.j2",
        case,
        reason=reason,
        deadline=deadline_in_words(clock.due_at, now=now),
        ombudsman_phone=OMBUDSMAN_PHONE,
    )
    enqueue_to_resident(
        uow,
        services,
        case,
        body=body,
        kind="complaint_extension",
        key=("c-ext", case.id, stage, used + days),
        auto=False,
    )
    uow.add_event(
        case.id,
        "complaint_extended",
        {
            "by": actor.email,
            "stage": stage,
            "days": days,
            "reason": reason[:2000],
            "due_at": clock.due_at.isoformat(),
        },
    )
    notify(
        uow,
        services,
        case,
        what=f"ext{used + days}",
        headline=f"Stage {stage} complaint extended by {days} working days",
        stage=stage,
        handler=case.owner,
        deadline=clock.due_at,
        detail=reason,
        now=now,
    )
    due: datetime = clock.due_at
    return due


def escalate(
    uow: UnitOfWork,
    services: Services,
    interaction_id: int,
    *,
    handler: str,
    reason: str,
    actor: Actor,
    now: datetime,
) -> datetime:
    """The resident asks for stage 2: a different handler, the stage 2 ack clock starts from
    the escalation request. Returns the stage 2 acknowledgement deadline."""
    case = load_case(uow.conn, interaction_id)
    if case.status == "closed":
        raise ActionError(f"{case.reference} is closed. Reopen it to escalate.")
    if current_stage(case) != 1:
        raise ActionError("Only a stage 1 complaint can be escalated to stage 2.")
    handler = _require_handler(uow.conn, handler)
    handlers = stage_handlers(uow.conn, case.id)
    stage1_handler = handlers[1].handler if 1 in handlers else case.owner
    if stage1_handler is not None and stage1_handler.lower() == handler:
        raise ActionError("Stage 2 must go to a different handler than stage 1.")
    stage1_open = tuple(
        s.clock.policy
        for s in services.clocks.open_clocks(uow.conn, case.id)
        if s.clock.policy.startswith("complaint-stage1-")
    )
    (clock,) = _change_clocks(
        uow,
        case,
        keep=stage1_open,
        start=(ack_policy(2),),
        services=services,
        by=actor.email,
        reason="escalated to stage 2",
        at=now,
    )
    _set_stage(uow, case, 2, handler, now)
    _move_to_complaints_team(uow, services, case)
    uow.conn.execute(
        complaint_handlers.insert().values(
            interaction_id=case.id, stage=2, handler=handler, assigned_at=now
        )
    )
    body = render(
        services,
        "complaint_escalated.txt.j2",
        case,
        handler_name=_name(uow.conn, handler),
        deadline=deadline_in_words(clock.due_at, now=now),
        ombudsman_phone=OMBUDSMAN_PHONE,
    )
    enqueue_to_resident(
        uow,
        services,
        case,
        body=body,
        kind="complaint_escalated",
        key=("c-esc", case.id),
        auto=False,
    )
    uow.add_event(
        case.id,
        "complaint_escalated",
        {
            "by": actor.email,
            "handler": handler,
            "stage1_handler": stage1_handler,
            "reason": reason.strip()[:2000],
            "due_at": clock.due_at.isoformat(),
        },
    )
    notify(
        uow,
        services,
        case,
        what="escalated",
        headline="Complaint escalated to stage 2: you are the handler",
        stage=2,
        handler=handler,
        deadline=clock.due_at,
        detail=reason.strip(),
        now=now,
    )
    due: datetime = clock.due_at
    return due


def respond(
    uow: UnitOfWork,
    services: Services,
    interaction_id: int,
    *,
    body: str,
    actor: Actor,
    now: datetime,
) -> None:
    """Send the stage's answer: it stops the stage's response clock (met or breached)."""
    text = body.strip()
    if not text:
        raise ActionError("Write the answer first.")
    case = load_case(uow.conn, interaction_id)
    stage = current_stage(case)
    if stage is None:
        raise ActionError(f"{case.reference} is not a complaint.")
    if not services.clocks.open_clocks(uow.conn, case.id, (response_policy(stage),)):
        raise ActionError(f"Acknowledge the stage {stage} complaint before answering it.")
    message = render(
        services,
        "complaint_response.txt.j2",
        case,
        stage=stage,
        body=text,
        staff_name=actor.first_name,
        ombudsman_phone=OMBUDSMAN_PHONE,
    )
    enqueue_to_resident(
        uow,
        services,
        case,
        body=message,
        kind="complaint_response",
        key=("c-resp", case.id, stage),
        auto=False,
    )
    _change_clocks(
        uow,
        case,
        keep=(response_policy(stage),),
        services=services,
        by=actor.email,
        reason=f"stage {stage} complaint answered",
        at=now,
    )
    c = complaint_handlers.c
    uow.conn.execute(
        complaint_handlers.update()
        .where(c.interaction_id == case.id, c.stage == stage)
        .values(responded_at=now)
    )
    uow.add_event(case.id, "complaint_answered", {"by": actor.email, "stage": stage})
