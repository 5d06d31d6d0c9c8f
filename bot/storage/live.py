"""Live chat storage: staff presence and the live queue (tables in tables_staff.py).

Plain SQLAlchemy Core on the caller's connection, so each change shares the transaction of
the action it belongs to (a "Take" writes the queue row, the aggregate's change and the
resident's notice together). The interaction itself is only read here; it is changed
through the `Interaction` aggregate (bot/domain/interaction.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.storage import tables as t
from bot.storage.tables_staff import live_chats, staff_presence, staff_users
from bot.storage.tables_webchat import webchat_messages

ACTIVE_STATES = ("waiting", "taken")
FIRST_WORDS_CHARS = 140


@dataclass(frozen=True, slots=True)
class PresentStaff:
    user_id: int
    email: str
    name: str
    team: str | None


@dataclass(frozen=True, slots=True)
class LiveChat:
    """A live-queue row with what the queue page and the rules need about its case."""

    id: int
    interaction_id: int
    session_id: str
    team: str
    state: str
    requested_at: datetime
    taken_by: str | None
    taken_name: str | None
    taken_at: datetime | None
    staff_messages: int
    reference: str
    topic: str
    urgency: str
    owner: str | None
    status: str


@dataclass(frozen=True, slots=True)
class Request:
    """A hand-off request in the event log that the live queue has not answered yet."""

    event_id: int
    interaction_id: int
    team: str
    address: str | None
    at: datetime


# ---- presence --------------------------------------------------------------------------


def set_status(conn: sa.Connection, user_id: int, status: str, now: datetime) -> None:
    """Available / Away, as the member of staff chose; counts as a heartbeat too."""
    p = staff_presence.c
    found = conn.execute(sa.select(p.user_id).where(p.user_id == user_id)).first()
    values = {"status": status, "seen_at": now, "active_at": now, "changed_at": now}
    if found is None:
        conn.execute(staff_presence.insert().values(user_id=user_id, **values))
    else:
        conn.execute(staff_presence.update().where(p.user_id == user_id).values(**values))


def heartbeat(conn: sa.Connection, user_id: int, now: datetime, active_at: datetime) -> str:
    """The dashboard is still open (and was last used at `active_at`). Returns the status
    ("away" for someone who never chose)."""
    p = staff_presence.c
    row = conn.execute(sa.select(p.status).where(p.user_id == user_id)).first()
    if row is None:
        return "away"
    conn.execute(
        staff_presence.update()
        .where(p.user_id == user_id)
        .values(seen_at=now, active_at=min(active_at, now))
    )
    return str(row.status)


def status_of(
    conn: sa.Connection, user_id: int, now: datetime, ttl: timedelta, idle: timedelta
) -> str:
    """ "available" only while the heartbeat is fresh and the person active; else "away"."""
    p = staff_presence.c
    row = conn.execute(
        sa.select(p.status, p.seen_at, p.active_at).where(p.user_id == user_id)
    ).first()
    if row is None:
        return "away"
    there = is_available(row.status, row.seen_at, row.active_at, now, ttl, idle)
    return "available" if there else "away"


def is_available(
    status: str,
    seen_at: datetime,
    active_at: datetime,
    now: datetime,
    ttl: timedelta,
    idle: timedelta,
) -> bool:
    """Chose Available, the dashboard is still open (a recent heartbeat) and in use (not
    idle). The same rule as `available_staff`'s query, for one person."""
    return status == "available" and seen_at >= now - ttl and active_at >= now - idle


def available_staff(
    conn: sa.Connection, team: str, now: datetime, ttl: timedelta, idle: timedelta
) -> list[PresentStaff]:
    """Active members of `team` who are Available now (heartbeat fresh, not idle)."""
    p, u = staff_presence.c, staff_users.c
    rows = conn.execute(
        sa.select(u.id, u.email, u.name, u.team)
        .join(staff_presence, p.user_id == u.id)
        .where(
            u.team == team,
            u.active.is_(True),
            p.status == "available",
            p.seen_at >= now - ttl,
            p.active_at >= now - idle,
        )
        .order_by(u.id)
    ).all()
    return [PresentStaff(r.id, r.email, r.name, r.team) for r in rows]


def is_present(conn: sa.Connection, email: str, now: datetime, ttl: timedelta) -> bool:
    """Has this person's dashboard sent a heartbeat lately (whatever their status)?"""
    p, u = staff_presence.c, staff_users.c
    found = conn.execute(
        sa.select(p.user_id)
        .join(staff_users, u.id == p.user_id)
        .where(u.email == email.lower(), p.seen_at >= now - ttl)
    ).first()
    return found is not None


# ---- the live queue ----------------------------------------------------------------------


def _select() -> sa.Select[Any]:
    lc, i = live_chats.c, t.interactions.c
    return sa.select(
        live_chats, i.reference, i.topic, i.urgency, i.owner, i.status.label("case_status")
    ).join(t.interactions, i.id == lc.interaction_id)


def _chat(row: Any) -> LiveChat:
    return LiveChat(
        id=row.id,
        interaction_id=row.interaction_id,
        session_id=row.session_id,
        team=row.team,
        state=row.state,
        requested_at=row.requested_at,
        taken_by=row.taken_by,
        taken_name=row.taken_name,
        taken_at=row.taken_at,
        staff_messages=int(row.staff_messages or 0),
        reference=row.reference,
        topic=row.topic,
        urgency=row.urgency,
        owner=row.owner,
        status=row.case_status,
    )


def get(conn: sa.Connection, chat_id: int) -> LiveChat | None:
    row = conn.execute(_select().where(live_chats.c.id == chat_id)).first()
    return None if row is None else _chat(row)


def active_for(conn: sa.Connection, interaction_id: int) -> LiveChat | None:
    """The interaction's live chat that is waiting or taken, if any."""
    lc = live_chats.c
    row = conn.execute(
        _select()
        .where(lc.interaction_id == interaction_id, lc.state.in_(ACTIVE_STATES))
        .order_by(lc.id.desc())
        .limit(1)
    ).first()
    return None if row is None else _chat(row)


def in_states(conn: sa.Connection, states: tuple[str, ...], limit: int = 500) -> list[LiveChat]:
    """Emergencies first, then urgent, then the longest waiting."""
    lc, i = live_chats.c, t.interactions.c
    rank = sa.case((i.urgency == "emergency", 0), (i.urgency == "urgent", 1), else_=2)
    rows = conn.execute(
        _select().where(lc.state.in_(states)).order_by(rank, lc.requested_at, lc.id).limit(limit)
    ).all()
    return [_chat(r) for r in rows]


def add(
    conn: sa.Connection,
    *,
    interaction_id: int,
    event_id: int | None,
    session_id: str,
    team: str,
    state: str,
    now: datetime,
) -> int | None:
    """A new row; None when another instance already answered this request (`event_id`)."""
    lc = live_chats.c
    if event_id is not None:
        seen = conn.execute(sa.select(lc.id).where(lc.event_id == event_id)).first()
        if seen is not None:
            return None
    try:
        with conn.begin_nested():
            new_id = conn.execute(
                live_chats.insert()
                .values(
                    interaction_id=interaction_id,
                    event_id=event_id,
                    session_id=session_id,
                    team=team,
                    state=state,
                    requested_at=now,
                    staff_messages=0,
                )
                .returning(lc.id)
            ).scalar_one()
    except sa.exc.IntegrityError:
        return None  # the other instance won the race for this request
    return int(new_id)


def claim(conn: sa.Connection, chat_id: int, *, email: str, name: str, now: datetime) -> bool:
    """waiting -> taken, only if still waiting: two officers pressing Take at once cannot
    both have it (the second is told who did)."""
    lc = live_chats.c
    done = conn.execute(
        live_chats.update()
        .where(lc.id == chat_id, lc.state == "waiting")
        .values(state="taken", taken_by=email.lower(), taken_name=name, taken_at=now)
    )
    return done.rowcount == 1


def finish(conn: sa.Connection, chat_id: int, *, state: str, reason: str, now: datetime) -> bool:
    """waiting/taken -> `state` (timed_out, ended), only once."""
    lc = live_chats.c
    done = conn.execute(
        live_chats.update()
        .where(lc.id == chat_id, lc.state.in_(ACTIVE_STATES))
        .values(state=state, ended_at=now, ended_reason=reason[:200])
    )
    return done.rowcount == 1


def count_staff_message(conn: sa.Connection, chat_id: int) -> int:
    """One more message from staff; returns how many there have been."""
    lc = live_chats.c
    conn.execute(
        live_chats.update().where(lc.id == chat_id).values(staff_messages=lc.staff_messages + 1)
    )
    return int(conn.execute(sa.select(lc.staff_messages).where(lc.id == chat_id)).scalar_one())


def position(conn: sa.Connection, chat: LiveChat) -> int:
    """1 for the next chat the team will take (emergencies go before the others)."""
    ahead = [c for c in in_states(conn, ("waiting",)) if c.team == chat.team]
    for number, found in enumerate(ahead, start=1):
        if found.id == chat.id:
            return number
    return len(ahead) + 1


def new_requests(conn: sa.Connection, after_event: int, since: datetime) -> list[Request]:
    """Web chat hand-off requests (the aggregate's `handoff_requested` events) after
    `after_event`, no older than `since`, that the live queue has not answered."""
    e, i, lc = t.events.c, t.interactions.c, live_chats.c
    answered = sa.select(lc.id).where(lc.event_id == e.id).exists()
    rows = conn.execute(
        sa.select(e.id, e.interaction_id, e.created_at, i.team, i.address)
        .join(t.interactions, i.id == e.interaction_id)
        .where(
            e.id > after_event,
            e.kind == "handoff_requested",
            e.created_at >= since,
            i.channel == "webchat",
            ~answered,
        )
        .order_by(e.id)
        .limit(200)
    ).all()
    return [Request(r.id, r.interaction_id, r.team, r.address, r.created_at) for r in rows]


def first_words(conn: sa.Connection, session_id: str) -> str:
    """The resident's first message in the chat, shortened for the queue."""
    m = webchat_messages.c
    body = conn.execute(
        sa.select(m.body)
        .where(m.session_id == session_id, m.role == "resident")
        .order_by(m.seq)
        .limit(1)
    ).scalar_one_or_none()
    text = " ".join(str(body or "").split())
    if len(text) > FIRST_WORDS_CHARS:
        text = text[: FIRST_WORDS_CHARS - 1].rstrip() + "…"
    return text


@dataclass(frozen=True, slots=True)
class Line:
    seq: int
    role: str
    body: str
    at: datetime

    def as_json(self) -> dict[str, object]:
        return {"seq": self.seq, "role": self.role, "text": self.body, "at": self.at.isoformat()}


def lines_after(conn: sa.Connection, session_id: str, after: int, limit: int = 500) -> list[Line]:
    """The chat as the resident sees it, after sequence number `after`."""
    m = webchat_messages.c
    rows = conn.execute(
        sa.select(m.seq, m.role, m.body, m.created_at)
        .where(m.session_id == session_id, m.seq > after)
        .order_by(m.seq)
        .limit(limit)
    ).all()
    return [Line(int(r.seq), r.role, r.body, r.created_at) for r in rows]
