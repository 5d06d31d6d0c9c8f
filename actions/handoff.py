"""HANDOFF: pass an interaction to another team or a named person.

The promise (seeds 000, 001, 003, 004): a message passed to another team is acknowledged
within 3 working days (1 if urgent), the resident is told who now owns it, and it is never
passed around without knowing who deals with it. So a transfer always names its new owner,
starts the new owner's `handoff-3` / `handoff-urgent-1` clock, and tells the resident the
owner and the deadline, in words, on the channel they used (SAME-CHANNEL), through the
outbox in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from actions.replies import ActionError, Actor, Services, load_case
from actions.wording import team_in_words
from bot.errors import DoorstepError
from bot.service import live
from bot.service.handlers import Context, save_and_handle
from bot.storage import tables as t
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork
from bot.storage.tables_staff import staff_users

HANDOFF_POLICIES = ("handoff-3", "handoff-urgent-1")


@dataclass(frozen=True, slots=True)
class Transfer:
    reference: str
    team: str
    owner: str | None
    owner_name: str
    policy: str
    due_at: datetime


def handoff_policy(urgency: str) -> str:
    """HANDOFF: 1 working day when urgent (or an emergency), otherwise 3."""
    return "handoff-urgent-1" if urgency in ("urgent", "emergency") else "handoff-3"


def person_name(conn: sa.Connection, email: str) -> str | None:
    """A member of staff's or an officer's name, by address."""
    email = email.strip().lower()
    found = conn.execute(
        sa.select(staff_users.c.name).where(staff_users.c.email == email)
    ).scalar_one_or_none()
    if found is None:
        found = conn.execute(
            sa.select(t.officers.c.name).where(sa.func.lower(t.officers.c.email) == email)
        ).scalar_one_or_none()
    return None if found is None else str(found)


def transfer(
    uow: UnitOfWork,
    services: Services,
    interaction_id: int,
    *,
    team: str,
    owner: str | None,
    note: str,
    actor: Actor,
    now: datetime,
) -> Transfer:
    """Give the interaction to `team` (and, optionally, a person in it)."""
    try:
        team_row = services.settings.team(team)
    except KeyError:
        raise ActionError("Choose a team to pass this to.") from None
    owner = (owner or "").strip().lower() or None
    owner_name = team_in_words(team_row.name)
    if owner is not None:
        name = person_name(uow.conn, owner)
        if name is None:
            raise ActionError(f"{owner} is not a member of staff or an officer.")
        owner_name = name
    case = load_case(uow.conn, interaction_id)
    interactions = SqlInteractions(uow)
    interaction = interactions.get(case.id)
    policy = handoff_policy(case.urgency)
    try:
        # The previous owner's hand-off clock is superseded; the new owner gets a fresh one.
        clock = interaction.transfer(
            services.clocks,
            team=team,
            owner=owner,
            owner_name=owner_name,
            policy=policy,
            note=note,
            by=actor.email,
            at=now,
        )
    except DoorstepError as exc:
        raise ActionError(str(exc)) from exc
    # The resident's notice is the Transferred event's handler (bot.service.handlers).
    save_and_handle(interactions, interaction, Context(uow, services, now))
    return Transfer(case.reference, team, owner, owner_name, policy, clock.due_at)


def take(
    uow: UnitOfWork, services: Services, interaction_id: int, *, actor: Actor, now: datetime
) -> None:
    """A member of staff takes an interaction within their own team: no resident notice,
    no new clock (it has not been passed to another team)."""
    interactions = SqlInteractions(uow)
    try:
        interaction = interactions.get(interaction_id)
        interaction.take(owner=actor.email, at=now)
    except DoorstepError as exc:
        raise ActionError(str(exc)) from exc
    interactions.save(interaction)


def offer_person(
    uow: UnitOfWork,
    services: Services,
    interaction_id: int,
    *,
    session_id: str,
    now: datetime,
    event_id: int | None = None,
    tell: bool = True,
) -> live.Decision:
    """HANDOFF in the web chat: a person now or the phone and a deadline.

    In office hours, with someone in the case's team signed in and Available, the chat goes
    to the dashboard's live queue and the resident is told they are in it; otherwise the
    hand-off reply (the number to call now and when the team will reply) is the answer.
    The live-chat worker calls this for every `handoff_requested` event of a web chat; a
    conversation engine calls it straight after `request_handoff` (same transaction, with
    the request's `event_id`, so the worker does not answer it again) and `tell` False, to
    word its one reply by the decision (`Decision.route`, `Decision.notice`)."""
    return live.offer(
        uow,
        services,
        interaction_id,
        session_id=session_id,
        event_id=event_id,
        now=now,
        tell=tell,
    )
