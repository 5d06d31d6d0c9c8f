"""The dashboard's reads: the queue, one interaction, one resident's history.

The queue is one indexed query: it walks the open clocks in deadline order (partial index
on (due_at, id) where is_open), keeps each interaction's earliest open clock only (an
anti-join on (interaction_id, due_at)), applies the viewer's scope, and stops after one
page. Pages are keyset-paginated on (due_at, clock id), so page 200 costs what page 1 does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.service.joining import mentions_of
from bot.storage import tables as t
from bot.storage.repository import idempotency_key
from bot.storage.tables_staff import staff_users
from bot.web.dashboard.auth import StaffUser

# Which queues each role may open, the first being its default. HANDOFF: a team lead sees
# everything unowned; COMPLAINT: a complaints handler sees complaints.
VIEWS: dict[str, tuple[str, ...]] = {
    "agent": ("team", "mine"),
    "team_lead": ("unowned", "team", "mine", "all"),
    "complaints_handler": ("complaints", "mine"),
    "admin": ("all", "unowned", "complaints", "team", "mine"),
}
VIEW_NAMES = {
    "team": "My team",
    "mine": "Mine",
    "unowned": "Unowned",
    "complaints": "Complaints",
    "all": "Everything",
}
STATE_NAMES = {
    "breached": "Breached",
    "due_soon": "Due soon",
    "due": "Due",
    "paused": "Paused",
    "stopped": "Stopped",
}


def clock_state(
    *,
    due_at: datetime,
    warn_at: datetime,
    paused_at: datetime | None,
    stopped_at: datetime | None,
    now: datetime,
) -> str:
    """due / due_soon / breached (or paused, stopped) for the queue's colour and words."""
    if stopped_at is not None:
        return "stopped"
    if paused_at is not None:
        return "paused"
    if now > due_at:
        return "breached"
    if now >= warn_at:
        return "due_soon"
    return "due"


def time_left(due_at: datetime, now: datetime) -> str:
    """'2 days 3 hours left', '40 minutes left', '5 hours late' (clock time, for staff)."""
    delta = due_at - now
    late = delta < timedelta(0)
    delta = abs(delta)
    days, rest = divmod(int(delta.total_seconds()), 86_400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts: list[str] = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours and days < 3:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if not days and not hours:
        parts.append(f"{max(minutes, 1)} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts) + (" late" if late else " left")


@dataclass(frozen=True, slots=True)
class Scope:
    """Which interactions a queue shows."""

    view: str
    team: str | None = None  # team filter (agents: always their own)
    me: str | None = None


def scope_for(user: StaffUser, view: str | None, team: str | None) -> Scope:
    allowed = VIEWS.get(user.role, ("mine",))
    chosen = view if view in allowed else allowed[0]
    if user.role not in ("admin", "team_lead"):
        team = user.team if chosen == "team" else None  # only leads and admins pick a team
    elif chosen == "team" and not team:
        team = user.team
    return Scope(view=chosen, team=team or None, me=user.email)


def _scope_filters(scope: Scope) -> list[sa.ColumnElement[bool]]:
    i = t.interactions.c
    filters: list[sa.ColumnElement[bool]] = []
    if scope.view == "mine":
        filters.append(i.owner == scope.me)
    elif scope.view == "unowned":
        filters.append(i.owner.is_(None))
    elif scope.view == "complaints":
        filters.append(i.topic == "complaint")
    if scope.team is not None and scope.view != "mine":
        filters.append(i.team == scope.team)
    return filters


def can_see(user: StaffUser, row: Any) -> bool:
    """Who may open an interaction (and act on it)."""
    if user.role in ("admin", "team_lead"):
        return True
    if row.owner == user.email or (user.team is not None and row.team == user.team):
        return True
    return user.role == "complaints_handler" and row.topic == "complaint"


def _open_clock() -> sa.ColumnElement[bool]:
    """`clocks.is_open` written bare: SQLite uses a partial index only when the query repeats
    its predicate, and `is_open IS 1` (SQLAlchemy's rendering of `.is_(True)`) does not."""
    return t.clock_is_open()


@dataclass(frozen=True, slots=True)
class QueueRow:
    interaction_id: int
    reference: str
    channel: str
    topic: str
    urgency: str
    team: str
    owner: str | None
    subject: str | None
    complaint_stage: int | None
    created_at: datetime
    policy: str | None
    due_at: datetime | None
    state: str
    left: str
    cursor: str | None


@dataclass(frozen=True, slots=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None
    without_clock: list[QueueRow]
    breached: int
    due_soon: int

    @staticmethod
    def shown(count: int) -> str:
        return f"{ATTENTION_CAP}+" if count > ATTENTION_CAP else str(count)


def _cursor(due_at: datetime, clock_id: int) -> str:
    return f"{due_at.timestamp():.6f}_{clock_id}"


def parse_cursor(text: str | None) -> tuple[datetime, int] | None:
    if not text:
        return None
    try:
        stamp, _, clock_id = text.partition("_")
        return datetime.fromtimestamp(float(stamp), UTC), int(clock_id)
    except ValueError:
        return None


def queue_statement(
    scope: Scope, *, limit: int, after: tuple[datetime, int] | None = None
) -> sa.Select[Any]:
    """The queue's one query (also what the benchmark and EXPLAIN tests look at)."""
    c = t.clocks.c
    i = t.interactions.c
    other = t.clocks.alias("other")
    o = other.c
    is_open = _open_clock()
    earlier = (
        sa.select(sa.literal(1))
        .where(
            o.interaction_id == c.interaction_id,
            t.clock_is_open("other"),
            sa.or_(o.due_at < c.due_at, sa.and_(o.due_at == c.due_at, o.id < c.id)),
        )
        .exists()
    )
    stmt = (
        sa.select(
            c.id.label("clock_id"),
            c.policy,
            c.due_at,
            c.warn_at,
            c.paused_at,
            i.id,
            i.reference,
            i.channel,
            i.topic,
            i.urgency,
            i.team,
            i.owner,
            i.subject,
            i.complaint_stage,
            i.created_at,
        )
        .select_from(t.clocks.join(t.interactions, i.id == c.interaction_id))
        .where(is_open, i.status != "closed", ~earlier, *_scope_filters(scope))
        .order_by(c.due_at, c.id)
        .limit(limit)
    )
    if after is not None:
        due, clock_id = after
        stmt = stmt.where(sa.or_(c.due_at > due, sa.and_(c.due_at == due, c.id > clock_id)))
    return stmt


def queue_page(
    conn: sa.Connection,
    scope: Scope,
    *,
    now: datetime,
    limit: int,
    after: tuple[datetime, int] | None = None,
) -> QueuePage:
    rows = conn.execute(queue_statement(scope, limit=limit + 1, after=after)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    out = [
        QueueRow(
            interaction_id=r.id,
            reference=r.reference,
            channel=r.channel,
            topic=r.topic,
            urgency=r.urgency,
            team=r.team,
            owner=r.owner,
            subject=r.subject,
            complaint_stage=r.complaint_stage,
            created_at=r.created_at,
            policy=r.policy,
            due_at=r.due_at,
            state=clock_state(
                due_at=r.due_at,
                warn_at=r.warn_at,
                paused_at=r.paused_at,
                stopped_at=None,
                now=now,
            ),
            left=time_left(r.due_at, now),
            cursor=_cursor(r.due_at, r.clock_id),
        )
        for r in rows
    ]
    without: list[QueueRow] = []
    if not more:
        # Open interactions whose clocks have all stopped (answered, not yet closed) come
        # after the timed ones, on the last page only, so the first page stays one query.
        without = _without_clock(conn, scope, now=now, limit=limit)
    breached, due_soon = _attention_counts(conn, scope, now)
    return QueuePage(
        rows=out,
        next_cursor=out[-1].cursor if more and out else None,
        without_clock=without,
        breached=breached,
        due_soon=due_soon,
    )


def _without_clock(
    conn: sa.Connection, scope: Scope, *, now: datetime, limit: int
) -> list[QueueRow]:
    i = t.interactions.c
    c = t.clocks.c
    has_open = sa.select(sa.literal(1)).where(c.interaction_id == i.id, _open_clock()).exists()
    rows = conn.execute(
        sa.select(t.interactions)
        .where(i.status != "closed", ~has_open, *_scope_filters(scope))
        .order_by(i.updated_at.desc())
        .limit(limit)
    ).all()
    return [
        QueueRow(
            interaction_id=r.id,
            reference=r.reference,
            channel=r.channel,
            topic=r.topic,
            urgency=r.urgency,
            team=r.team,
            owner=r.owner,
            subject=r.subject,
            complaint_stage=r.complaint_stage,
            created_at=r.created_at,
            policy=None,
            due_at=None,
            state="stopped",
            left="answered, not closed",
            cursor=None,
        )
        for r in rows
    ]


ATTENTION_CAP = 999  # counts stop here ("999+"): a backlog that big needs no exact figure


def _attention_counts(conn: sa.Connection, scope: Scope, now: datetime) -> tuple[int, int]:
    """Interactions in scope with a breached / a due-soon clock: a range scan of the partial
    warn_at index (only clocks near or past their deadline are read), stopped at the cap."""
    c = t.clocks.c
    i = t.interactions.c

    def count(*where: sa.ColumnElement[bool]) -> int:
        found = (
            sa.select(c.interaction_id)
            .distinct()
            .select_from(t.clocks.join(t.interactions, i.id == c.interaction_id))
            .where(
                _open_clock(),
                c.warn_at <= now,
                c.paused_at.is_(None),
                i.status != "closed",
                *_scope_filters(scope),
                *where,
            )
            .limit(ATTENTION_CAP + 1)
            .subquery()
        )
        return int(conn.execute(sa.select(sa.func.count()).select_from(found)).scalar_one())

    return count(c.due_at < now), count(c.due_at >= now)


# ---- one interaction ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: datetime
    who: str  # resident, us, staff, system
    kind: str
    channel: str | None
    text: str
    status: str | None = None
    # Sorting uses when we stored each thing (one clock for all three kinds); a message's
    # own received time can be earlier (mail delayed on the way) and is what staff see.
    stored_at: datetime | None = None
    # PRIVACY: who wrote a message and from which address or number (anyone can quote a
    # reference), and the other cases it quoted (bot/service/joining.py); for what we sent,
    # where it went.
    address: str | None = None
    mentions: tuple[str, ...] = ()


def interaction_row(conn: sa.Connection, interaction_id: int) -> Any:
    return conn.execute(
        sa.select(t.interactions, t.contacts.c.name.label("contact_name"))
        .join(t.contacts, t.contacts.c.id == t.interactions.c.contact_id)
        .where(t.interactions.c.id == interaction_id)
    ).first()


def interaction_id_for(conn: sa.Connection, reference: str) -> int | None:
    i = t.interactions.c
    found = conn.execute(
        sa.select(i.id).where(i.reference == reference.strip().upper())
    ).scalar_one_or_none()
    return None if found is None else int(found)


def references_for(conn: sa.Connection, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    i = t.interactions.c
    rows = conn.execute(sa.select(i.id, i.reference).where(i.id.in_(sorted(ids)))).all()
    return {int(r.id): str(r.reference) for r in rows}


def staff_names(conn: sa.Connection) -> dict[str, str]:
    """Email -> name for everyone who can own a case (staff accounts, configured officers):
    pages show the owner as a person, not an address (issue 20)."""
    names = {str(r.email): str(r.name) for r in conn.execute(sa.select(t.officers)).all()}
    for email, name in conn.execute(sa.select(staff_users.c.email, staff_users.c.name)).all():
        names[str(email)] = str(name)
    return names


def identities(conn: sa.Connection, contact_id: int) -> list[tuple[str, str]]:
    ci = t.contact_identities.c
    rows = conn.execute(
        sa.select(ci.kind, ci.value).where(ci.contact_id == contact_id).order_by(ci.kind)
    ).all()
    return [(str(r.kind), str(r.value)) for r in rows]


@dataclass(frozen=True, slots=True)
class History:
    """One resident's interactions that the viewer may open, and how many others there are.

    Need-to-know: a repairs agent must not read the subject of the same resident's
    harassment case, nor learn which team holds it; a count says there is more, so they
    know to ask a team lead when it matters."""

    rows: list[Any]
    hidden: int


def history(conn: sa.Connection, contact_id: int, viewer: StaffUser, limit: int = 50) -> History:
    """One resident's interactions across every channel, newest first, as `viewer` may see."""
    i = t.interactions.c
    rows = conn.execute(
        sa.select(
            i.id,
            i.reference,
            i.channel,
            i.topic,
            i.status,
            i.subject,
            i.created_at,
            i.team,
            i.owner,
        )
        .where(i.contact_id == contact_id)
        .order_by(i.created_at.desc(), i.id.desc())
        .limit(limit)
    ).all()
    visible = [r for r in rows if can_see(viewer, r)]
    return History(rows=visible, hidden=len(rows) - len(visible))


_EVENT_WORDS = {
    "created": "Received and routed",
    "resident_replied": "Resident replied",
    "staff_replied": "Reply sent",
    "clocks_paused": "Clocks paused (waiting on the resident)",
    "clocks_resumed": "Clocks resumed",
    "closed": "Closed",
    "reopened": "Reopened",
    "transferred": "Transferred",
    "taken": "Taken",
    "marked_complaint": "Marked as a complaint",
    "complaint_acknowledged": "Complaint acknowledged",
    "complaint_extended": "Complaint deadline extended",
    "complaint_escalated": "Escalated to stage 2",
    "complaint_answered": "Complaint answered",
    "complaint_notified": "Complaints team notified",
    "mentioned_by_other_sender": "Someone else quoted this reference (a new case was opened)",
}


def _event_text(kind: str, detail: dict[str, Any], names: dict[str, str] | None = None) -> str:
    words = _EVENT_WORDS.get(kind, kind.replace("_", " ").capitalize())
    extras = []
    for key in ("by", "owner_name", "team", "outcome", "stage", "days", "reason", "handler"):
        value = detail.get(key)
        if key in ("by", "handler") and isinstance(value, str) and names:
            value = names.get(value, value)  # a person, not an address
        if value not in (None, "", []):
            extras.append(f"{key.replace('_', ' ')}: {value}")
    return words + (f" ({'; '.join(extras)})" if extras else "")


def _notified_text(
    conn: sa.Connection, interaction_id: int, detail: dict[str, Any], sent_text: str
) -> str:
    """The complaints team's notification as it really went: the event is written when the
    emails are queued, so it may only say "notified" once they are sent (issue 20)."""
    recipients = [str(a).lower() for a in detail.get("to") or []]
    if not recipients:
        return "Complaints team NOT notified: no email address for the complaints team (teams)"
    keys = {
        idempotency_key("notify", detail.get("what"), interaction_id, detail.get("stage"), a): a
        for a in recipients
    }  # the keys actions/complaints.py `notify` queued them under
    ob = t.outbox.c
    found = {
        keys[r.idempotency_key]: (str(r.status), r.last_error)
        for r in conn.execute(
            sa.select(ob.idempotency_key, ob.status, ob.last_error).where(
                ob.idempotency_key.in_(list(keys))
            )
        ).all()
    }
    states = [found.get(a, ("pending", None)) for a in recipients]
    failed = [
        (a, error)
        for a, (status, error) in zip(recipients, states, strict=True)
        if status == "failed"
    ]
    if failed:
        why = "; ".join(f"{a}: {error or 'failed'}" for a, error in failed)
        return f"Complaints team NOT notified ({why})"
    if all(status == "sent" for status, _ in states):
        return sent_text
    return "Complaints team notification waiting to be sent"


_PLATFORMS = {"messenger": "Facebook", "instagram": "Instagram", "x": "X"}


def timeline(conn: sa.Connection, interaction_id: int) -> list[TimelineEntry]:
    """Everything that happened, oldest first: the resident's messages, what we sent, and
    what staff did."""
    ib = t.inbound_messages.c
    ob = t.outbox.c
    ev = t.events.c
    entries: list[TimelineEntry] = []
    for r in conn.execute(
        sa.select(
            ib.received_at, ib.stored_at, ib.channel, ib.body, ib.subject, ib.status, ib.sender,
            ib.meta,
        ).where(ib.interaction_id == interaction_id)
    ).all():  # fmt: skip
        text = "\n".join(p for p in (r.subject, r.body) if p) or "(no text)"
        meta = r.meta if isinstance(r.meta, dict) else {}
        if meta.get("kind") in ("comment", "mention"):
            # SOCIAL: said in public, under one of our posts; the answer went privately.
            where = _PLATFORMS.get(str(meta.get("platform")), "social media")
            post = f" on post {meta['post_id']}" if meta.get("post_id") else ""
            text = f"[Public {meta['kind']} on {where}{post}]\n{text}"
        entries.append(
            TimelineEntry(
                r.received_at or r.stored_at,
                "resident",
                "message",
                r.channel,
                text,
                stored_at=r.stored_at,
                address=r.sender,
                mentions=tuple(mentions_of(r.meta)),
            )
        )
    for r in conn.execute(
        sa.select(
            ob.created_at,
            ob.channel,
            ob.kind,
            ob.body,
            ob.status,
            ob.auto,
            ob.recipient,
            ob.last_error,
        ).where(ob.interaction_id == interaction_id)
    ).all():
        # A message that could not be sent says why, where it happened.
        status = r.status
        if r.status == "failed" and r.last_error:
            status = f"{r.status}: {r.last_error}"
        entries.append(
            TimelineEntry(
                r.created_at,
                "us" if r.auto else "staff",
                r.kind,
                r.channel,
                r.body,
                status,
                address=r.recipient,
            )
        )
    names = staff_names(conn)
    for r in conn.execute(
        sa.select(ev.created_at, ev.kind, ev.detail).where(ev.interaction_id == interaction_id)
    ).all():
        text = _event_text(r.kind, r.detail or {}, names)
        if r.kind == "complaint_notified":
            text = _notified_text(conn, interaction_id, r.detail or {}, text)
        entries.append(TimelineEntry(r.created_at, "system", r.kind, None, text))
    order = {"resident": 0, "system": 1, "us": 2, "staff": 2}
    entries.sort(key=lambda e: (e.stored_at or e.at, order.get(e.who, 3)))
    return entries


def latest_event_id(conn: sa.Connection) -> int:
    return int(
        conn.execute(sa.select(sa.func.coalesce(sa.func.max(t.events.c.id), 0))).scalar_one()
    )


@dataclass(frozen=True, slots=True)
class LiveEvent:
    id: int
    interaction_id: int | None
    kind: str
    visible: bool  # may the viewer see that this interaction changed?


def events_after(
    conn: sa.Connection, after: int, viewer: StaffUser, limit: int = 100
) -> list[LiveEvent]:
    """Events after `after`, each marked with whether `viewer` may see it. The caller still
    moves past the invisible ones (or it would read them again on every poll). An event of
    no interaction (an officer's leave) is for admins only."""
    ev = t.events.c
    i = t.interactions.c
    rows = conn.execute(
        sa.select(ev.id, ev.interaction_id, ev.kind, i.team, i.owner, i.topic)
        .select_from(t.events.outerjoin(t.interactions, i.id == ev.interaction_id))
        .where(ev.id > after)
        .order_by(ev.id)
        .limit(limit)
    ).all()
    return [
        LiveEvent(
            id=int(r.id),
            interaction_id=r.interaction_id,
            kind=str(r.kind),
            visible=(viewer.role == "admin" if r.interaction_id is None else can_see(viewer, r)),
        )
        for r in rows
    ]
