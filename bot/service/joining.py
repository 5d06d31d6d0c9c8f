"""Which case a message joins: only its own resident's (PRIVACY).

A message joins an existing interaction when it quotes the case's reference, answers one of
our messages (email In-Reply-To/References, the chat's opening message) or follows up a
text conversation from the same number, AND its sender is already an identity of that
case's contact: the same email address, phone number, chat session or social id.

Anyone else who quotes a reference (a stranger who guessed it, an abuser who saw a letter,
a relative writing from their own address) opens a new interaction instead. Nothing of the
quoted case changes (no clock resumes, nothing is reclassified or re-routed) and nothing of
it is told to the sender (team, deadline); their message is kept whole on the new case,
marked "mentions DS-...", and the quoted case records that someone else mentioned it, so
staff can check and link the two by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.domain import references
from bot.domain.interaction import settlements_on_close
from bot.domain.model import Channel, InboundMessage
from bot.service.clocks import ClockService
from bot.storage import tables as t
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork

# The kind of contact identity a channel's sender is (the same mapping the pipeline uses
# when it files a new contact).
SENDER_KIND = {
    Channel.EMAIL: "email",
    Channel.SMS: "phone",
    Channel.WEBCHAT: "webchat",
    Channel.SOCIAL: "social",
}
# How far into a message we look for a quoted reference (quoted history is stripped).
_BODY_SCAN = 2000
_MAX_QUOTED = 10


@dataclass(frozen=True, slots=True)
class JoinDecision:
    interaction_id: int | None  # the case to join, or None: open a new one
    mentions: tuple[str, ...] = ()  # references of cases the sender is not the resident of


def normalised_sender(channel: Channel, sender: str) -> str:
    """The sender as contact identities store it (see UnitOfWork.contact_for)."""
    return sender.strip().lower() if channel is Channel.EMAIL else sender.strip()


def is_own_resident(uow: UnitOfWork, interaction_id: int, channel: Channel, sender: str) -> bool:
    """True when `sender` (on `channel`) is an identity of the case's contact, or the
    address the case itself answers on that channel."""
    kind = SENDER_KIND.get(channel)
    if kind is None or not sender.strip():
        return False
    value = normalised_sender(channel, sender)
    i, ci = t.interactions.c, t.contact_identities.c
    row = uow.conn.execute(
        sa.select(i.contact_id, i.channel, i.address).where(i.id == interaction_id)
    ).first()
    if row is None:
        return False
    same_address = row.address is not None and normalised_sender(channel, row.address) == value
    if row.channel == channel.value and same_address:
        return True
    found = uow.conn.execute(
        sa.select(ci.id).where(ci.contact_id == row.contact_id, ci.kind == kind, ci.value == value)
    ).first()
    return found is not None


def quoted_references(msg: InboundMessage) -> list[str]:
    """The references a message quotes, subject first; at most `_MAX_QUOTED` (a message
    full of references must not cost a lookup each)."""
    seen: list[str] = []
    for text in (msg.subject or "", msg.body[:_BODY_SCAN]):
        for reference in references.find_references(text):
            if reference not in seen:
                seen.append(reference)
            if len(seen) >= _MAX_QUOTED:
                return seen
    return seen


def decide(uow: UnitOfWork, msg: InboundMessage, by_sender: int | None = None) -> JoinDecision:
    """The case this message joins, if its sender is that case's resident.

    `by_sender` is the open conversation the pipeline found for the sender's own number or
    handle (a text has no thread headers); it is the sender's by construction.
    """
    mentions: list[str] = []
    for reference in quoted_references(msg):
        row = uow.interaction_by_reference(reference)
        if row is None:
            continue
        if is_own_resident(uow, row.id, msg.channel, msg.sender):
            return JoinDecision(row.id)
        mentions.append(row.reference)
    found = uow.interaction_for_external_ids(msg.channel.value, list(msg.thread_refs))
    if found is not None:
        # Email: a reply to our Message-ID threads only from the case's own address (a
        # Message-ID is no secret: it travels in every copy of the mail).
        if is_own_resident(uow, found, msg.channel, msg.sender):
            return JoinDecision(found)
        reference = uow.get_interaction(found).reference
        if reference not in mentions:
            mentions.append(reference)
    if by_sender is not None:
        return JoinDecision(by_sender, tuple(mentions))
    return JoinDecision(None, tuple(mentions))


def record_mentions(uow: UnitOfWork, msg: InboundMessage, mentions: Iterable[str]) -> None:
    """Mark the message as one that mentions other residents' cases, and tell each quoted
    case that someone else mentioned it (staff may link them after checking).

    Called while the message is being handled, before its own interaction exists: the mark
    goes on the stored message (which the new interaction's timeline shows), found by its
    channel and provider id among the messages not handled yet.
    """
    quoted = list(mentions)
    if not quoted:
        return
    ib = t.inbound_messages.c
    row = uow.conn.execute(
        sa.select(ib.id, ib.meta)
        .where(
            ib.channel == msg.channel.value,
            ib.external_id == msg.external_id[:500],
            ib.status == "received",
        )
        .order_by(ib.id.desc())
        .limit(1)
    ).first()
    inbound_id = None if row is None else int(row.id)
    if row is not None:
        meta = dict(row.meta or {})
        meta["mentions"] = quoted
        uow.conn.execute(t.inbound_messages.update().where(ib.id == row.id).values(meta=meta))
    for reference in quoted:
        case = uow.interaction_by_reference(reference)
        if case is None:
            continue
        # What the quoted case's staff see: that someone else quoted it, and where the
        # message went; not the message itself (it may not be for them).
        uow.add_event(
            case.id,
            "mentioned_by_other_sender",
            {"inbound_id": inbound_id, "channel": msg.channel.value},
        )


def mentions_of(meta: object) -> list[str]:
    """The references a stored message was marked as mentioning (for the timeline)."""
    if isinstance(meta, dict):
        found = meta.get("mentions")
        if isinstance(found, list):
            return [str(x) for x in found]
    return []


class LinkError(ValueError):
    """A link staff asked for that cannot be made (the message says why)."""


@dataclass(frozen=True, slots=True)
class Linked:
    messages: int  # messages moved onto the resident's case
    trusted: bool  # the sender's address or number now counts as the resident's


def link_mention(
    uow: UnitOfWork,
    clocks: ClockService,
    *,
    mentioning: str,
    into: str,
    by: str,
    trust_sender: bool,
    now: datetime,
) -> Linked:
    """After checking, staff move a case that mentioned another ("mentions DS-...") into
    it: its messages join the resident's case, the mentioning case is closed as linked and
    its clocks end as superseded (the link answers nobody). With `trust_sender` (staff
    confirmed the sender is the resident, e.g. writing from a work address) the sender's
    address or number becomes one of the resident's, so their next messages join the case
    by themselves. Both cases record who linked them."""
    source = uow.interaction_by_reference(mentioning)
    target = uow.interaction_by_reference(into)
    if source is None or target is None:
        raise LinkError(f"no case {mentioning if source is None else into}")
    if source.id == target.id:
        raise LinkError("a case cannot be linked into itself")
    if source.status in ("closed", "anonymised"):
        raise LinkError(f"{source.reference} is closed")
    ib, ci = t.inbound_messages.c, t.contact_identities.c
    moved = uow.conn.execute(
        t.inbound_messages.update()
        .where(ib.interaction_id == source.id)
        .values(interaction_id=target.id)
    ).rowcount
    if trust_sender and source.contact_id != target.contact_id:
        uow.conn.execute(
            t.contact_identities.update()
            .where(ci.contact_id == source.contact_id)
            .values(contact_id=target.contact_id)
        )
    # Its promises are superseded by the resident's case, which now holds its messages:
    # linking answers nobody, so no clock of it counts as met.
    interactions = SqlInteractions(uow)
    linked = interactions.get(source.id)
    label = f"Linked to {target.reference}"
    linked.close(
        outcome="duplicate",
        text=label,
        settlements=settlements_on_close(linked, "duplicate", told=False, label=label),
        by=by,
        at=now,
        told=False,
    )
    interactions.save(linked)
    detail = {"by": by, "messages": int(moved), "trusted_sender": trust_sender}
    uow.add_event(source.id, "linked_into", {**detail, "reference": target.reference})
    uow.add_event(target.id, "linked_from", {**detail, "reference": source.reference})
    return Linked(int(moved), trust_sender)
