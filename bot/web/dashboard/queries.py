"""The dashboard's reads: the queue, one interaction, one resident's history.

The queue is one indexed query: it walks the open clocks in deadline order (partial index
on (due_at, id) where is_open), keeps each interaction's earliest open clock only (an
anti-join on (interaction_id, due_at)), applies the viewer's scope, and stops after one
page. Pages are keyset-paginated on (due_at, clock id), so page 200 costs what page 1 does.
Each row carries the start of the interaction's first message (a scalar subquery on the
inbound index) and the classifier's stored result, so a page needs no query per row.

Emergencies and clocks of a day or less (Awaab's Law: 24 hours) are set apart on top: their
ids first (the urgency and policy indexes), then one more query of the same shape for them,
and the main list leaves those ids out. With the counts and the staff names that is at most
seven queries for a page, whatever its length.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.service.clocks import needs_attention
from bot.service.joining import mentions_of
from bot.storage import tables as t
from bot.storage.repository import idempotency_key
from bot.storage.tables_staff import staff_users
from bot.web.dashboard import glance
from bot.web.dashboard.auth import StaffUser
from sla.calendar import Calendar
from sla.due_soon import DEFAULT_DUE_SOON_FRACTION, attention_state, due_soon_until
from sla.policies import PRESETS, Policy
from sla.remaining import is_day_or_less, remaining_words

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
class Promises:
    """What the queue needs to know about the landlord's promises: the policies (for names,
    units and "due soon"), the working-day calendar, the due-soon fraction
    (`sla.due_soon_fraction`) and the teams' names."""

    policies: Mapping[str, Policy]
    calendar: Calendar
    due_soon_fraction: float = DEFAULT_DUE_SOON_FRACTION
    teams: Mapping[str, str] = field(default_factory=dict)

    def soon_until(self, now: datetime) -> dict[str, datetime]:
        """Per policy, the latest deadline that is due soon at `now` (sla/remaining.py)."""
        return {
            name: due_soon_until(policy, now, self.due_soon_fraction, self.calendar)
            for name, policy in self.policies.items()
        }

    def day_policies(self) -> tuple[str, ...]:
        """Policies kept in clock hours within a day (Awaab's Law: 24 hours)."""
        return tuple(sorted(n for n, p in self.policies.items() if is_day_or_less(p)))


@functools.cache
def _default_calendar() -> Calendar:
    return Calendar()


def default_promises() -> Promises:
    """The presets and the default calendar (the benchmark and tests without settings)."""
    return Promises(policies=PRESETS, calendar=_default_calendar())


def queue_state(
    *,
    policy: str | None,
    due_at: datetime,
    warn_at: datetime,
    paused_at: datetime | None,
    now: datetime,
    soon_until: Mapping[str, datetime],
) -> str:
    """due / due_soon / breached / paused for a running clock, under the one rule of
    sla/due_soon.py with each policy's limit worked out once per page (`soon_until`); a
    policy no longer configured falls back to the stored warning time, as the rule does."""
    if paused_at is not None:
        return "paused"
    if now > due_at:
        return "breached"
    limit = soon_until.get(policy or "")
    if limit is None:
        return clock_state(due_at=due_at, warn_at=warn_at, paused_at=None, stopped_at=None, now=now)
    return "due_soon" if due_at <= limit else "due"


def promises_of(app: Any) -> Promises:
    """The landlord's promises as the running app has them (policies, calendar, settings)."""
    settings = app.settings
    return Promises(
        policies=app.clocks.policies,
        calendar=app.clocks.calendar,
        due_soon_fraction=settings.sla.due_soon_fraction,
        teams={team.id: team.name for team in settings.teams},
    )


def case_clock(
    promises: Promises,
    *,
    policy: str,
    due_at: datetime,
    warn_at: datetime,
    paused_at: datetime | None,
    stopped_at: datetime | None,
    now: datetime,
) -> tuple[str, str]:
    """A case page's clock as the queue shows it: (state, what is left in words)."""
    if stopped_at is not None:
        state = "stopped"
    elif paused_at is not None:
        state = "paused"
    else:
        state = (
            attention_state(
                promises.policies.get(policy),
                due_at=due_at,
                warn_at=warn_at,
                now=now,
                fraction=promises.due_soon_fraction,
                calendar=promises.calendar,
            )
            or "due"
        )
    return state, remaining_words(promises.policies.get(policy), due_at, now, promises.calendar)


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
    # Read at a glance (issue 18): words, not ids.
    first_words: str = ""
    flags: tuple[glance.Flag, ...] = ()
    promise: str = ""
    team_name: str = ""
    owner_name: str | None = None
    channel_name: str = ""
    topic_name: str = ""
    pressing: bool = False  # an emergency, or a clock of a day or less

    @property
    def hazards(self) -> tuple[glance.Flag, ...]:
        return tuple(f for f in self.flags if f.kind == "hazard")


@dataclass(frozen=True, slots=True)
class QueuePage:
    rows: list[QueueRow]
    next_cursor: str | None
    without_clock: list[QueueRow]
    breached: int
    due_soon: int
    # Emergencies and 24-hour clocks, set apart on top of every page (in deadline order);
    # `pressing_more`: there were more than a page of them.
    pressing: list[QueueRow] = field(default_factory=list)
    pressing_more: bool = False
    names: dict[str, str] = field(default_factory=dict)

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
    except (ValueError, OverflowError, OSError):
        return None


def _first_message() -> sa.ScalarSelect[Any]:
    """The start of the interaction's first message, for its first words: one indexed
    lookup per row inside the page's query (inbound_messages.interaction_id)."""
    ib = t.inbound_messages.c
    return (
        sa.select(sa.func.substr(ib.body, 1, glance.FIRST_MESSAGE_CHARS))
        .where(ib.interaction_id == t.interactions.c.id)
        .order_by(ib.id)
        .limit(1)
        .correlate(t.interactions)
        .scalar_subquery()
    )


def _pressing_ids(day_policies: tuple[str, ...]) -> sa.CompoundSelect[Any] | sa.Select[Any]:
    """Open interactions that are emergencies or have an open clock of a day or less: read
    from the urgency index and the policy index, so a few emergencies in a large backlog
    cost a few rows. The viewer's scope is not applied here (emergencies are few, and the
    planner would otherwise read the team index instead of the urgency one): the queries
    that show rows apply it."""
    i = t.interactions.c
    emergencies = sa.select(i.id.label("pressing_id")).where(
        i.urgency == "emergency", i.status != "closed"
    )
    if not day_policies:
        return emergencies
    day = t.clocks.alias("day")
    timed = sa.select(day.c.interaction_id).where(
        t.clock_is_open("day"), day.c.policy.in_(day_policies)
    )
    return sa.union(emergencies, timed)


# Up to this many pressing interactions are looked up by id; beyond it (a flood of
# emergencies) the queue's walk in deadline order finds them quickly anyway.
PRESSING_BY_ID = 500


def pressing_ids(conn: sa.Connection, day_policies: tuple[str, ...]) -> list[int] | None:
    """The pressing interactions' ids (every team's: see `_pressing_ids`), or None when there
    are more than PRESSING_BY_ID."""
    found = [
        int(r[0]) for r in conn.execute(_pressing_ids(day_policies).limit(PRESSING_BY_ID + 1)).all()
    ]
    return None if len(found) > PRESSING_BY_ID else sorted(found)


def queue_statement(
    scope: Scope,
    *,
    limit: int,
    after: tuple[datetime, int] | None = None,
    pressing: bool | None = None,
    day_policies: tuple[str, ...] = (),
    pressing_ids: list[int] | None = None,
) -> sa.Select[Any]:
    """The queue's one query (also what the benchmark and EXPLAIN tests look at).

    pressing=None: every interaction; True: only the emergencies and day-or-less clocks;
    False: all the others (the main list under the pressing section). With `pressing_ids`
    (from `pressing_ids()`) the split is by those ids, which the planner reads from the
    interaction index instead of walking every open clock."""
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
            i.classification,
            _first_message().label("first_body"),
        )
        .select_from(t.clocks.join(t.interactions, i.id == c.interaction_id))
        .where(is_open, i.status != "closed", ~earlier, *_scope_filters(scope))
        .order_by(c.due_at, c.id)
        .limit(limit)
    )
    if pressing is not None and pressing_ids is not None:
        known = c.interaction_id.in_(pressing_ids)
        if pressing:
            stmt = stmt.where(known)
        elif pressing_ids:
            stmt = stmt.where(~known)
    elif pressing is True:
        stmt = stmt.where(c.interaction_id.in_(_pressing_ids(day_policies)))
    elif pressing is False:
        stmt = stmt.where(i.urgency != "emergency")
        if day_policies:
            day = t.clocks.alias("day")
            stmt = stmt.where(
                ~sa.select(sa.literal(1))
                .where(
                    day.c.interaction_id == c.interaction_id,
                    t.clock_is_open("day"),
                    day.c.policy.in_(day_policies),
                )
                .exists()
            )
    if after is not None:
        due, clock_id = after
        stmt = stmt.where(sa.or_(c.due_at > due, sa.and_(c.due_at == due, c.id > clock_id)))
    return stmt


def _row(
    r: Any,
    *,
    promises: Promises,
    names: Mapping[str, str],
    now: datetime,
    soon_until: Mapping[str, datetime] | None,
    day_policies: tuple[str, ...],
) -> QueueRow:
    """One queue row in words (glance.py): the same for timed and answered rows."""
    timed = soon_until is not None
    policy = getattr(r, "policy", None) if timed else None
    due_at = r.due_at if timed else None
    if timed:
        assert soon_until is not None and due_at is not None
        state = queue_state(
            policy=policy,
            due_at=due_at,
            warn_at=r.warn_at,
            paused_at=r.paused_at,
            now=now,
            soon_until=soon_until,
        )
        left = remaining_words(promises.policies.get(policy or ""), due_at, now, promises.calendar)
        cursor: str | None = _cursor(due_at, r.clock_id)
    else:
        state, left, cursor = "stopped", "answered, not closed", None
    return QueueRow(
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
        policy=policy,
        due_at=due_at,
        state=state,
        left=left,
        cursor=cursor,
        first_words=glance.first_words(r.first_body),
        flags=glance.flags(r.classification),
        promise=glance.promise_name(policy, promises.policies),
        team_name=glance.team_name(r.team, promises.teams),
        owner_name=glance.person_name(r.owner, names),
        channel_name=glance.channel_name(r.channel),
        topic_name=glance.topic_name(r.topic),
        pressing=r.urgency == "emergency" or policy in day_policies,
    )


def queue_page(
    conn: sa.Connection,
    scope: Scope,
    *,
    now: datetime,
    limit: int,
    after: tuple[datetime, int] | None = None,
    promises: Promises | None = None,
) -> QueuePage:
    """One page of the queue: the pressing interactions' ids and their section, the page of
    other timed rows, the answered-not-closed rows (last page), the two counts and the staff
    names: at most seven queries, whatever the page's length."""
    promises = promises or default_promises()
    soon = promises.soon_until(now)
    day_policies = promises.day_policies()
    names = staff_names(conn)

    def rows_of(stmt: sa.Select[Any]) -> list[QueueRow]:
        return [
            _row(
                r,
                promises=promises,
                names=names,
                now=now,
                soon_until=soon,
                day_policies=day_policies,
            )
            for r in conn.execute(stmt).all()
        ]

    ids = pressing_ids(conn, day_policies)
    pressing = (
        []
        if ids == []
        else rows_of(
            queue_statement(
                scope, limit=limit + 1, pressing=True, day_policies=day_policies, pressing_ids=ids
            )
        )
    )
    rows = rows_of(
        queue_statement(
            scope,
            limit=limit + 1,
            after=after,
            pressing=False,
            day_policies=day_policies,
            pressing_ids=ids,
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    without: list[QueueRow] = []
    if not more:
        # Open interactions whose clocks have all stopped (answered, not yet closed) come
        # after the timed ones, on the last page only, so the first page stays one query.
        without = _without_clock(conn, scope, now=now, limit=limit, promises=promises, names=names)
    breached, due_soon = _attention_counts(conn, scope, now, soon)
    return QueuePage(
        rows=rows,
        next_cursor=rows[-1].cursor if more and rows else None,
        without_clock=without,
        breached=breached,
        due_soon=due_soon,
        pressing=pressing[:limit],
        pressing_more=len(pressing) > limit,
        names=names,
    )


def _without_clock(
    conn: sa.Connection,
    scope: Scope,
    *,
    now: datetime,
    limit: int,
    promises: Promises | None = None,
    names: Mapping[str, str] | None = None,
) -> list[QueueRow]:
    i = t.interactions.c
    c = t.clocks.c
    has_open = sa.select(sa.literal(1)).where(c.interaction_id == i.id, _open_clock()).exists()
    rows = conn.execute(
        sa.select(t.interactions, _first_message().label("first_body"))
        .where(i.status != "closed", ~has_open, *_scope_filters(scope))
        .order_by(i.updated_at.desc())
        .limit(limit)
    ).all()
    promises = promises or default_promises()
    return [
        _row(r, promises=promises, names=names or {}, now=now, soon_until=None, day_policies=())
        for r in rows
    ]


ATTENTION_CAP = 999  # counts stop here ("999+"): a backlog that big needs no exact figure


def _attention_counts(
    conn: sa.Connection,
    scope: Scope,
    now: datetime,
    soon_until: Mapping[str, datetime] | None = None,
) -> tuple[int, int]:
    """Interactions in scope with a breached / a due-soon clock, stopped at the cap.

    Breached: a range scan of the partial warn_at index (a clock's stored warning time is
    never after its deadline). Due soon is the one rule (sla/due_soon.py): a deadline range
    per policy (`Promises.soon_until`), as `bot.service.clocks.needs_attention` writes it
    for the alerts and the API."""
    c = t.clocks.c
    i = t.interactions.c
    if soon_until is None:
        soon_until = default_promises().soon_until(now)

    def count(*where: sa.ColumnElement[bool]) -> int:
        found = (
            sa.select(c.interaction_id)
            .distinct()
            .select_from(t.clocks.join(t.interactions, i.id == c.interaction_id))
            .where(
                _open_clock(),
                c.paused_at.is_(None),
                i.status != "closed",
                *_scope_filters(scope),
                *where,
            )
            .limit(ATTENTION_CAP + 1)
            .subquery()
        )
        return int(conn.execute(sa.select(sa.func.count()).select_from(found)).scalar_one())

    breached = count(c.warn_at <= now, c.due_at < now)
    return breached, count(needs_attention(now, soon_until), c.due_at >= now)


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
