"""Removing what identifies a resident from a case, keeping the case's shape.

Used by the retention policy (closed cases after their retention period) and by erasure.
What stays: the reference, channel, topic, urgency, team, dates, clocks and outcomes'
absence or presence, so the landlord's performance figures (MONITOR: 2-ten, CH01/CH02)
still add up. What goes: every word the resident wrote, every address and number, names,
recorded needs, attachments' raw payloads, what we wrote back, event details, and the
case's appointments' name, address and number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.storage import tables as t

REMOVED = "[removed]"


@dataclass(frozen=True, slots=True)
class Anonymised:
    interactions: int = 0
    inbound: int = 0
    outbound: int = 0
    events: int = 0
    chat_lines: int = 0
    contacts: int = 0


def anonymise_interactions(
    conn: sa.Connection, interaction_ids: Sequence[int], now: datetime
) -> Anonymised:
    """Strip personal data from these cases and everything attached to them; then forget
    their contacts' names, needs and identities when no case of theirs still needs them."""
    if not interaction_ids:
        return Anonymised()
    ids = list(interaction_ids)
    i, ib, ob, ev = t.interactions.c, t.inbound_messages.c, t.outbox.c, t.events.c
    contact_ids = {
        int(c) for c in conn.execute(sa.select(i.contact_id).where(i.id.in_(ids))).scalars()
    }
    interactions = conn.execute(
        t.interactions.update()
        .where(i.id.in_(ids))
        .values(
            subject=None,
            address=None,
            classification=None,
            outcome=None,
            owner=None,
            status="anonymised",
            updated_at=now,
        )
    ).rowcount
    inbound = conn.execute(
        t.inbound_messages.update()
        .where(ib.interaction_id.in_(ids))
        .values(
            raw=None,
            sender=None,
            subject=None,
            body=REMOVED,
            thread_refs=None,
            meta=None,
            reason=None,
        )
    ).rowcount
    outbound = conn.execute(
        t.outbox.update()
        .where(ob.interaction_id.in_(ids))
        .values(
            recipient=REMOVED,
            subject=None,
            body=REMOVED,
            html=None,
            meta=None,
            last_error=None,
            references=None,
            in_reply_to=None,
        )
    ).rowcount
    events = conn.execute(
        t.events.update().where(ev.interaction_id.in_(ids)).values(detail={})
    ).rowcount
    handled = sa.select(ib.id).where(ib.interaction_id.in_(ids))
    conn.execute(
        t.suppressions.update().where(t.suppressions.c.inbound_id.in_(handled)).values(address=None)
    )
    _anonymise_appointments(conn, ids)
    chat_lines = _anonymise_chats(conn, ids)
    contacts = forget_unneeded_contacts(conn, contact_ids)
    return Anonymised(interactions, inbound, outbound, events, chat_lines, contacts)


def _anonymise_appointments(conn: sa.Connection, ids: list[int]) -> None:
    try:
        from bot.storage.tables_sms import appointments
    except ImportError:  # pragma: no cover - the appointments area is optional
        return
    conn.execute(
        appointments.update()
        .where(appointments.c.interaction_id.in_(ids))
        .values(resident_name=None, phone=REMOVED, email=None, address=REMOVED, cancel_reason=None)
    )


def _anonymise_chats(conn: sa.Connection, ids: list[int]) -> int:
    try:
        from bot.storage.tables_webchat import webchat_messages, webchat_sessions
    except ImportError:  # pragma: no cover - the web chat is an optional area
        return 0
    sessions = sa.select(webchat_sessions.c.id).where(webchat_sessions.c.interaction_id.in_(ids))
    return int(
        conn.execute(
            webchat_messages.update()
            .where(webchat_messages.c.session_id.in_(sessions))
            .values(body=REMOVED, meta=None)
        ).rowcount
    )


def forget_unneeded_contacts(conn: sa.Connection, contact_ids: set[int]) -> int:
    """Clear the name, needs and identities of contacts whose every case is anonymised (a
    contact with a live case keeps them: staff must still be able to answer)."""
    i, ci = t.interactions.c, t.contact_identities.c
    forgotten = 0
    for contact_id in sorted(contact_ids):
        live = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.interactions)
            .where(i.contact_id == contact_id, i.status != "anonymised")
        ).scalar_one()
        if live:
            continue
        conn.execute(t.contact_identities.delete().where(ci.contact_id == contact_id))
        conn.execute(
            t.contacts.update().where(t.contacts.c.id == contact_id).values(name=None, needs=[])
        )
        forgotten += 1
    return forgotten
