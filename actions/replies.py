"""What staff do to an interaction from the dashboard: reply, pause the clock while waiting
on the resident, close with an outcome.

SAME-CHANNEL: a reply goes out on the channel the resident used, to the address they used,
through the outbox (written in the caller's transaction, so the reply and the clock change
commit together or not at all). Every action records an event, which is also what the
dashboard's live updates watch.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import sqlalchemy as sa

from actions.acknowledge import Composer
from bot.domain.greeting import greeting_name
from bot.domain.interaction import (
    SETTLEMENT_CHOICES,
    Interaction,
    Settlement,
    settlements_on_close,
)
from bot.domain.model import Channel, OutboundMessage
from bot.errors import DoorstepError, InvalidError
from bot.service.language import ContactLanguage, voice_for
from bot.service.outbound import enqueue_reply
from bot.settings import Settings
from bot.storage import tables as t
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork, idempotency_key

if TYPE_CHECKING:
    from bot.service.clocks import ClockService

MAX_REPLY_CHARS = 10_000


class ActionError(InvalidError):
    """A staff action that cannot be done; the message is shown to the member of staff."""


class Services(Protocol):
    """What the staff actions need from the App (bot.bootstrap.App has all of it)."""

    settings: Settings
    clocks: ClockService
    composer: Composer


@dataclass(frozen=True, slots=True)
class Actor:
    """The member of staff doing something."""

    email: str
    name: str
    role: str
    team: str | None = None

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.strip() else self.email.split("@")[0]

    @property
    def initials(self) -> str:
        return "".join(part[0].upper() for part in self.name.split()) or self.first_name

    def signature(self, style: str) -> str | None:
        """SOCIAL: how a reply is signed ("first_name", "initials" or "none")."""
        return {"first_name": self.first_name, "initials": self.initials}.get(style)


@dataclass(frozen=True, slots=True)
class Case:
    """An interaction with what the staff actions need to answer it."""

    id: int
    reference: str
    channel: Channel
    address: str | None
    topic: str
    urgency: str
    team: str
    owner: str | None
    status: str
    subject: str | None
    complaint_stage: int | None
    resident_name: str | None
    last_inbound_id: str | None  # provider id of the resident's latest message (threading)
    thread_ids: tuple[str, ...]
    language: str | None = None  # the contact's (bot/service/language.py)
    language_source: str | None = None


def load_case(conn: sa.Connection, interaction_id: int) -> Case:
    i = t.interactions.c
    row = conn.execute(
        sa.select(
            t.interactions,
            t.contacts.c.name.label("contact_name"),
            t.contacts.c.language.label("contact_language"),
            t.contacts.c.language_source.label("contact_language_source"),
        )
        .join(t.contacts, t.contacts.c.id == i.contact_id)
        .where(i.id == interaction_id)
    ).first()
    if row is None:
        raise ActionError("That interaction does not exist.")
    ib = t.inbound_messages.c
    ids = [
        str(r.external_id)
        for r in conn.execute(
            sa.select(ib.external_id)
            .where(ib.interaction_id == interaction_id, ib.external_id.is_not(None))
            .order_by(ib.id)
        ).all()
    ]
    return Case(
        id=row.id,
        reference=row.reference,
        channel=Channel(row.channel),
        address=row.address,
        topic=row.topic,
        urgency=row.urgency,
        team=row.team,
        owner=row.owner,
        status=row.status,
        subject=row.subject,
        complaint_stage=row.complaint_stage,
        resident_name=greeting_name(row.contact_name),
        last_inbound_id=ids[-1] if ids else None,
        thread_ids=tuple(ids[-10:]),
        language=row.contact_language,
        language_source=row.contact_language_source,
    )


def _require_open(case: Case) -> None:
    if case.status == "closed":
        raise ActionError(f"{case.reference} is closed.")


_SUBJECT_PREFIX = re.compile(r"^\s*((re|fw|fwd)\s*:\s*)+", re.IGNORECASE)


def reply_subject(case: Case) -> str:
    base = _SUBJECT_PREFIX.sub("", case.subject or "").strip() or "Your message"
    if case.reference not in base:
        base = f"{base} [{case.reference}]"
    return f"Re: {base}"


def _message_id(services: Services, case: Case, kind: str) -> str:
    domain = services.settings.email.from_address.rpartition("@")[2] or "doorstep.invalid"
    return f"<{case.reference.lower()}.{kind}.{uuid.uuid4().hex[:12]}@{domain}>"


def _reply_from(services: Services, case: Case) -> str | None:
    if case.channel is not Channel.EMAIL:
        return None
    try:
        team = services.settings.team(case.team)
    except KeyError:
        return services.settings.email.from_address
    return team.email or services.settings.email.from_address


def enqueue_to_resident(
    uow: UnitOfWork,
    services: Services,
    case: Case,
    *,
    body: str,
    kind: str,
    key: tuple[object, ...],
    auto: bool,
    meta: dict[str, str] | None = None,
) -> bool:
    """SAME-CHANNEL: write a message to the resident on the channel and address they used.

    Returns False when the key was used before (a double-submitted form sends once)."""
    if not case.address:
        raise ActionError(f"{case.reference} has no address to reply to.")
    email = case.channel is Channel.EMAIL
    message = OutboundMessage(
        channel=case.channel,
        recipient=case.address,
        body=body,
        idempotency_key=idempotency_key(*key),
        subject=reply_subject(case) if email else None,
        sender=_reply_from(services, case),
        in_reply_to=case.last_inbound_id if email else None,
        references=case.thread_ids if email else (),
        interaction_id=case.id,
        kind=kind,
        auto=auto,
        meta={"reference": case.reference, **(meta or {})},
    )
    if case.channel is Channel.SOCIAL:
        # Meta's messaging window is counted from the resident's last message (the sender
        # tags a person's late reply HUMAN_AGENT, and refuses what Meta would refuse).
        last = _last_inbound_at(uow, case.id)
        if last is not None:
            message = replace(message, meta={**message.meta, "resident_last_at": last.isoformat()})
    message_id = _message_id(services, case, kind) if email else None
    # The channel's rules (SMS: GSM-7, segments, quiet hours unless pressing) in one place.
    pressing = case.urgency in ("emergency", "urgent")
    queued = enqueue_reply(
        uow, services.settings, message, uow.now(), urgent=pressing, message_id=message_id
    )
    return queued is not None


def _last_inbound_at(uow: UnitOfWork, interaction_id: int) -> datetime | None:
    c = t.inbound_messages.c
    found: datetime | None = uow.conn.execute(
        sa.select(sa.func.max(c.received_at)).where(c.interaction_id == interaction_id)
    ).scalar()
    return found


def render(services: Services, name: str, case: Case, **values: Any) -> str:
    """A resident-facing template in the case's channel variant (plain language, CONTACT)."""
    stored = ContactLanguage(case.language, case.language_source)
    return services.composer.render(
        name,
        channel=case.channel.value,
        voice=voice_for(services.settings.organisation, stored),
        reference=case.reference,
        resident_name=case.resident_name,
        **values,
    )


def send_reply(
    uow: UnitOfWork,
    services: Services,
    interaction_id: int,
    text: str,
    *,
    actor: Actor,
    nonce: str,
    now: datetime,
) -> bool:
    """SAME-CHANNEL: staff answer the resident on the channel they used.

    The response clocks the reply meets are stopped in the same transaction as the outbox
    write: the outbox then owns delivery (with retries), and the queue changes at once.
    Returns False when this form (nonce) was already sent."""
    text = text.strip()
    if not text:
        raise ActionError("Write a reply first.")
    if len(text) > MAX_REPLY_CHARS:
        raise ActionError(f"A reply can be at most {MAX_REPLY_CHARS} characters.")
    case = load_case(uow.conn, interaction_id)
    _require_open(case)
    interactions = SqlInteractions(uow)
    body = render(
        services,
        "staff_reply.txt.j2",
        case,
        body=text,
        staff_name=actor.first_name,
        signature=actor.signature(services.settings.social.signature),
    )
    sent = enqueue_to_resident(
        uow,
        services,
        case,
        body=body,
        kind="reply",
        key=("staff-reply", case.id, nonce),
        auto=False,
        meta={"staff": actor.email},
    )
    if not sent:
        return False
    interaction = interactions.get(case.id)
    interaction.replied(by=actor.email, at=now)
    interactions.save(interaction)
    return True


def pause_clocks(
    uow: UnitOfWork, services: Services, interaction_id: int, *, actor: Actor, now: datetime
) -> int:
    """Waiting on the resident (information, access): the clocks stop ticking. They start
    again when the resident replies (the pipeline resumes them) or staff resume them."""
    interactions = SqlInteractions(uow)
    interaction = _open_interaction(interactions, interaction_id)
    paused = interaction.pause(by=actor.email, at=now)
    if paused == 0:
        raise ActionError("No running clock to pause.")
    interactions.save(interaction)
    return paused


def resume_clocks(
    uow: UnitOfWork, services: Services, interaction_id: int, *, actor: Actor, now: datetime
) -> int:
    interactions = SqlInteractions(uow)
    interaction = _open_interaction(interactions, interaction_id)
    resumed = interaction.resume(services.clocks, by=actor.email, at=now)
    if resumed == 0:
        raise ActionError("No paused clock to resume.")
    interactions.save(interaction)
    return resumed


OUTCOMES = {
    "resolved": "Resolved",
    "repair_booked": "Repair booked",
    "information_given": "Information given",
    "referred": "Referred elsewhere",
    "no_response": "No response from resident",
    "duplicate": "Duplicate",
    "withdrawn": "Withdrawn by resident",
}


def close_case(
    uow: UnitOfWork,
    services: Services,
    interaction_id: int,
    *,
    outcome: str,
    note: str,
    tell_resident: bool,
    actor: Actor,
    now: datetime,
    settlements: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Close with an outcome, saying what happened to each promise still open.

    `settlements` maps an open clock's policy to how it ended (bot.domain.interaction's
    SETTLEMENT_CHOICES); a clock not named takes the honest default for the outcome
    (`settlements_on_close`): closing keeps no promise by itself. The resident can be told,
    on their channel, what we did. Returns policy -> how its clock ended."""
    if outcome not in OUTCOMES:
        raise ActionError("Choose an outcome.")
    case = load_case(uow.conn, interaction_id)
    _require_open(case)
    interactions = SqlInteractions(uow)
    interaction = interactions.get(case.id)
    note = note.strip()
    text = OUTCOMES[outcome] + (f": {note}" if note else "")
    chosen = settlements_on_close(interaction, outcome, told=tell_resident, label=OUTCOMES[outcome])
    for policy, how in (settlements or {}).items():
        if policy in chosen and how:
            reason = f"{SETTLEMENT_CHOICES.get(how, how)}, as recorded by {actor.email}"
            try:
                chosen[policy] = Settlement(how, reason)
            except DoorstepError as exc:
                raise ActionError(str(exc)) from exc
    ended = interaction.close(
        outcome=outcome, text=text, settlements=chosen, by=actor.email, at=now, told=tell_resident
    )
    interactions.save(interaction)
    if tell_resident:
        body = render(
            services,
            "staff_closed.txt.j2",
            case,
            outcome=OUTCOMES[outcome],
            note=note,
            staff_name=actor.first_name,
        )
        enqueue_to_resident(
            uow, services, case, body=body, kind="closed", key=("closed", case.id), auto=False
        )
    return ended


def reopen_case(uow: UnitOfWork, interaction_id: int, *, actor: Actor, now: datetime) -> None:
    interactions = SqlInteractions(uow)
    try:
        interaction = interactions.get(interaction_id)
        interaction.reopen(by=actor.email, at=now, reason="reopened by staff")
    except DoorstepError as exc:
        raise ActionError(str(exc)) from exc
    interactions.save(interaction)


def _open_interaction(interactions: SqlInteractions, interaction_id: int) -> Interaction:
    try:
        interaction = interactions.get(interaction_id)
        interaction.require_open()
    except DoorstepError as exc:
        raise ActionError(str(exc)) from exc
    return interaction
