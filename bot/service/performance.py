"""The performance page's figures (MONITOR), computed in the database.

One grouped query reads every clock decided in the period (the same rule as
`sla.reports.decided_in`, written as SQL so a million clocks are never loaded into Python)
and returns counts by promise, day, verdict, channel, topic and team; everything the page
shows is folded from those counts. Distributions of time to acknowledge and to respond,
volume by channel and hour, CH01 and the list of breaches are small queries of their own.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.storage import tables as t
from bot.storage import tables_probe as tp
from sla.figures import FIGURES, TIME_BINS, Figure, month_start, week_start

LONDON = ZoneInfo("Europe/London")
MET, MISSED, ASIDE = "met", "missed", "set_aside"
ACK_POLICIES = ("ack-2", "email-ack-now", "social")
RESPONSE_POLICIES = ("respond-10",)
GROUPINGS = ("channel", "topic", "team")


@dataclass(frozen=True, slots=True)
class Filters:
    team: str | None = None
    channel: str | None = None
    topic: str | None = None

    def as_dict(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (("team", self.team), ("channel", self.channel), ("topic", self.topic))
            if v
        }


@dataclass(slots=True)
class Tally:
    met: int = 0
    missed: int = 0
    set_aside: int = 0

    def add(self, verdict: str, n: int) -> None:
        if verdict == MET:
            self.met += n
        elif verdict == MISSED:
            self.missed += n
        else:
            self.set_aside += n

    @property
    def decided(self) -> int:
        return self.met + self.missed

    @property
    def share(self) -> float | None:
        return self.met / self.decided if self.decided else None

    def as_dict(self) -> dict[str, Any]:
        share = self.share
        return {
            "met": self.met,
            "missed": self.missed,
            "set_aside": self.set_aside,
            "share_met": None if share is None else round(share, 4),
        }


@dataclass(frozen=True, slots=True)
class Breach:
    reference: str | None
    policy: str
    promise: str
    team: str
    channel: str | None
    due_at: datetime
    outcome: str | None
    reason: str | None


@dataclass
class Performance:
    start: datetime
    end: datetime
    now: datetime
    filters: Filters
    bucket: str  # week or month
    figures: list[tuple[Figure, Tally]]
    trend: dict[str, list[tuple[date, Tally]]]  # figure id -> per bucket
    buckets: list[date]
    by_policy: list[tuple[str, str, Tally]]  # policy, promise, tally
    by_group: dict[str, list[tuple[str, Tally]]]  # channel/topic/team -> rows
    ack_times: list[tuple[str, int]]
    response_times: list[tuple[str, int]]
    volume: dict[str, list[int]]  # channel -> 24 counts by London hour
    ch01: dict[str, int | float | None] = field(default_factory=dict)
    breaches: list[Breach] = field(default_factory=list)


def _day(dialect: str, expr: Any) -> Any:
    if dialect == "sqlite":
        return sa.func.substr(expr, 1, 10)  # stored as naive UTC text, fixed width
    return sa.func.to_char(sa.func.timezone("UTC", expr), "YYYY-MM-DD")


def _seconds(dialect: str, later: Any, earlier: Any) -> Any:
    if dialect == "sqlite":
        return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0
    return sa.func.extract("epoch", later - earlier)


def _not_a_probe(interaction_id: Any) -> Any:
    """MONITOR: mystery-shopper probes are not residents' cases (bot/probe)."""
    return interaction_id.not_in(sa.select(tp.probe_cases.c.interaction_id))


def _filtered(query: Any, filters: Filters, c: Any) -> Any:
    """Clocks of residents' cases matching `filters`, read from the clock alone: the
    database copies the interaction's team and "is a probe" onto it (bot.storage.tables)."""
    query = query.where(c.probe == sa.false())
    if filters.team:
        query = query.where(c.team == filters.team)
    if filters.channel:
        query = query.where(c.channel == filters.channel)
    if filters.topic:
        query = query.where(c.topic == filters.topic)
    return query


def _in_period(expr: Any, start: datetime, end: datetime) -> Any:
    return sa.and_(expr >= sa.literal(start, t.UtcDateTime), expr < sa.literal(end, t.UtcDateTime))


def compute(
    conn: sa.Connection,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    filters: Filters = Filters(),
    homes: int | None = None,
    bucket: str = "week",
    breaches_limit: int = 50,
    label: Callable[[str], str] = lambda policy: policy,
) -> Performance:
    dialect = conn.dialect.name
    cutoff = min(end, now)
    decided = _decided_cte(dialect, start, end, cutoff, filters)
    d = decided.c
    day = _day(dialect, d.decided_at)
    none = sa.literal(None, sa.String)
    # One statement, one pass over the period's clocks: a UNION ALL of small groupings
    # (promise by day for the trend; channel, topic and team; the time-to-keep bins),
    # rather than one grouping by everything, which has more groups than rows.
    parts = [
        sa.select(
            sa.literal("policy").label("kind"),
            d.policy.label("a"),
            d.promise.label("b"),
            day.label("day"),
            d.verdict,
            sa.func.count().label("n"),
        ).group_by(d.policy, d.promise, day, d.verdict)
    ]
    for name in GROUPINGS:
        column = getattr(d, name)
        parts.append(
            sa.select(sa.literal(name), column, none, none, d.verdict, sa.func.count()).group_by(
                column, d.verdict
            )
        )
    seconds = _seconds(dialect, d.stopped_at, d.started_at)
    bins = sa.case(
        *((seconds < upper, sa.literal(label)) for label, upper in TIME_BINS[:-1]),
        else_=sa.literal(TIME_BINS[-1][0]),
    )
    parts.append(
        sa.select(sa.literal("time"), d.policy, bins, none, d.verdict, sa.func.count())
        .where(
            d.outcome.in_(("met", "breached")),
            d.stopped_at.is_not(None),
            d.policy.in_(ACK_POLICIES + RESPONSE_POLICIES),
        )
        .group_by(d.policy, bins, d.verdict)
    )
    if breaches_limit > 0:
        # The latest breaches ride on the same pass: their clock ids, details fetched after.
        latest = (
            sa.select(d.id, d.decided_at)
            .where(d.verdict == MISSED)
            .order_by(d.decided_at.desc())
            .limit(breaches_limit)
            .subquery()
        )
        parts.append(
            sa.select(
                sa.literal("breach"),
                sa.cast(latest.c.id, sa.String),
                none,
                none,
                none,
                sa.literal(0),
            )
        )
    rows = conn.execute(sa.union_all(*parts)).all()

    to_bucket = week_start if bucket == "week" else month_start
    buckets = _buckets(start, end, to_bucket)
    policy_tally: dict[tuple[str, str], Tally] = defaultdict(Tally)
    group_tally: dict[str, dict[str, Tally]] = {g: defaultdict(Tally) for g in GROUPINGS}
    figure_of = {p: f.id for f in FIGURES for p in f.policies}
    figure_tally: dict[str, Tally] = defaultdict(Tally)
    trend: dict[str, dict[date, Tally]] = {f.id: defaultdict(Tally) for f in FIGURES}
    ack_bins: Counter[str] = Counter()
    response_bins: Counter[str] = Counter()
    breach_ids: list[int] = []
    for kind, first, second, when, verdict_, n in rows:
        n, v = int(n), str(verdict_)
        if kind == "policy":
            policy_tally[(first, second)].add(v, n)
            figure = figure_of.get(first)
            if figure is not None:
                figure_tally[figure].add(v, n)
                trend[figure][to_bucket(date.fromisoformat(str(when)))].add(v, n)
        elif kind == "breach":
            breach_ids.append(int(first))
        elif kind == "time":
            (ack_bins if first in ACK_POLICIES else response_bins)[str(second)] += n
        else:
            group_tally[kind][str(first or "-")].add(v, n)

    perf = Performance(
        start=start,
        end=end,
        now=now,
        filters=filters,
        bucket=bucket,
        figures=[(f, figure_tally[f.id]) for f in FIGURES],
        trend={fid: [(b, per[b]) for b in buckets] for fid, per in trend.items()},
        buckets=buckets,
        by_policy=sorted((p, promise, tally) for (p, promise), tally in policy_tally.items()),
        by_group={g: sorted(v.items()) for g, v in group_tally.items()},
        ack_times=[(label, ack_bins[label]) for label, _ in TIME_BINS],
        response_times=[(label, response_bins[label]) for label, _ in TIME_BINS],
        volume=_volume(conn, start, end, filters),
    )
    perf.ch01 = _ch01(conn, start, end, filters, homes)
    perf.breaches = _breaches(conn, breach_ids)
    return perf


def _buckets(start: datetime, end: datetime, to_bucket: Callable[[date], date]) -> list[date]:
    found: list[date] = []
    day = start.astimezone(UTC).date()
    last = (end - timedelta(microseconds=1)).astimezone(UTC).date()
    while day <= last:
        b = to_bucket(day)
        if not found or found[-1] != b:
            found.append(b)
        day += timedelta(days=1)
    return found


def _decided_cte(
    dialect: str, start: datetime, end: datetime, cutoff: datetime, filters: Filters
) -> Any:
    """The clocks decided in [start, end) and how (met, missed, set aside): the stored
    `settled_at` and `verdict` (kept by the database from the clock's own columns), and for
    an open clock the test that its due time has passed unpaused by `cutoff`.
    Materialised, so the groupings that read it share one pass over the index."""
    c = t.clocks.c
    counted = sa.or_(
        c.stopped_at.is_not(None),
        sa.and_(
            c.due_at < sa.literal(cutoff, t.UtcDateTime),
            sa.or_(c.paused_at.is_(None), c.paused_at > c.due_at),
        ),
    )
    inner = sa.select(
        c.id,
        c.policy,
        c.promise,
        c.channel,
        c.topic,
        c.team,
        c.settled_at.label("decided_at"),
        c.verdict,
        c.started_at,
        c.stopped_at,
        c.outcome,
    ).where(_in_period(c.settled_at, start, end), counted)
    return _filtered(inner, filters, c).cte("decided").prefix_with("MATERIALIZED")


def _offset_spans(start: datetime, end: datetime) -> list[tuple[datetime, datetime, int]]:
    """[start, end) cut where London's offset from UTC changes: (from, to, offset hours).
    Offsets are whole hours and change on a whole UTC hour, so within a span the London
    hour of day is the UTC hour plus the offset."""

    def offset(at: datetime) -> int:
        found = at.astimezone(LONDON).utcoffset()
        return int(found.total_seconds() // 3600) if found else 0

    spans: list[tuple[datetime, datetime, int]] = []
    begin, current, probe = start, offset(start), start
    while probe < end:
        following = min(probe + timedelta(days=1), end)
        if offset(following) != current:  # it changed in (probe, following]: find the hour
            at = probe.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
            while offset(at) == current:
                at += timedelta(hours=1)
            spans.append((begin, at, current))
            begin, current = at, offset(at)
        probe = following
    if begin < end:
        spans.append((begin, end, current))
    return spans


def _volume(
    conn: sa.Connection, start: datetime, end: datetime, filters: Filters
) -> dict[str, list[int]]:
    """New enquiries by channel and London hour of day: grouped by UTC hour of day in
    each span of one London offset (24 groups a channel, not one per hour of the period)."""
    i = t.interactions.c
    if conn.dialect.name == "sqlite":
        hour = sa.func.substr(i.created_at, 12, 2)  # naive UTC text, "YYYY-MM-DD HH:..."
    else:
        hour = sa.func.to_char(sa.func.timezone("UTC", i.created_at), "HH24")
    volume: dict[str, list[int]] = {}
    for begin, stop, offset in _offset_spans(start, end):
        query = (
            sa.select(i.channel, hour.label("hour"), sa.func.count().label("n"))
            .where(_in_period(i.created_at, begin, stop), _not_a_probe(i.id))
            .group_by(i.channel, hour)
        )
        if filters.team:
            query = query.where(i.team == filters.team)
        if filters.channel:
            query = query.where(i.channel == filters.channel)
        if filters.topic:
            query = query.where(i.topic == filters.topic)
        for channel, utc_hour, n in conn.execute(query):
            local = (int(utc_hour) + offset) % 24
            volume.setdefault(str(channel), [0] * 24)[local] += int(n)
    return dict(sorted(volume.items()))


def _ch01(
    conn: sa.Connection, start: datetime, end: datetime, filters: Filters, homes: int | None
) -> dict[str, int | float | None]:
    c = t.clocks.c
    query = (
        sa.select(c.policy, sa.func.count().label("n"))
        .where(
            c.policy.in_(("complaint-stage1-ack", "complaint-stage2-ack")),
            _in_period(c.started_at, start, end),
        )
        .group_by(c.policy)
    )
    counts = Counter({str(r.policy): int(r.n) for r in conn.execute(_filtered(query, filters, c))})
    stage1, stage2 = counts["complaint-stage1-ack"], counts["complaint-stage2-ack"]
    per = (lambda n: round(n * 1000 / homes, 2)) if homes else (lambda n: None)
    return {
        "homes": homes,
        "stage1": stage1,
        "stage2": stage2,
        "stage1_per_1000": per(stage1),
        "stage2_per_1000": per(stage2),
    }


def _breaches(conn: sa.Connection, ids: list[int]) -> list[Breach]:
    """The breached clocks' details, latest first (`ids` come in that order)."""
    if not ids:
        return []
    c, i = t.clocks.c, t.interactions.c
    query = (
        sa.select(
            c.id,
            i.reference,
            c.policy,
            c.promise,
            i.team,
            c.channel,
            c.due_at,
            c.outcome,
            c.outcome_reason,
        )
        .select_from(t.clocks.join(t.interactions, c.interaction_id == i.id))
        .where(c.id.in_(ids))
    )
    found = {
        r.id: Breach(
            r.reference,
            r.policy,
            r.promise,
            r.team,
            r.channel,
            r.due_at,
            r.outcome,
            r.outcome_reason,
        )
        for r in conn.execute(query)
    }
    return [found[n] for n in ids if n in found]
