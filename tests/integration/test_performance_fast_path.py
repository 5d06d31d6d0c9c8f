"""The performance page reads the team and "is a probe" copied onto each clock by the
database (MONITOR). After transfers (through the aggregate and by a bare UPDATE),
reclassification to another team, a reopened case with a new clock, and cases named a
probe before and after their clocks, the figures must equal the slow definition: every
clock joined to its interaction's current team, probes left out, `sla.reports.decided_in`
applied in Python. On SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.service.performance import Filters, compute
from bot.storage import tables as t
from bot.storage import tables_probe as tp
from bot.storage.db import migrate
from bot.storage.interactions import SqlInteractions
from bot.storage.repository import UnitOfWork
from sla.reports import ClockRecord, decided_in
from tests.integration.test_performance import _case, _clock

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
BASE = datetime(2026, 10, 1, tzinfo=UTC)
TEAMS = ("repairs", "asb", "complaints", "customer-services")
POLICIES = (("ack-2", "ACK-2"), ("respond-10", "RESP-10"), ("asb-routine-5", "ASB"))


def _slow(conn: sa.Connection, start: datetime, end: datetime) -> Counter[tuple[str, str, str]]:
    """(policy, team, verdict) -> clocks, by the definition, from the rows as they are."""
    c, i = t.clocks.c, t.interactions.c
    probes = {r[0] for r in conn.execute(sa.select(tp.probe_cases.c.interaction_id))}
    rows = conn.execute(
        sa.select(
            c.interaction_id,
            c.policy,
            c.promise,
            c.channel,
            c.topic,
            c.due_at,
            c.stopped_at,
            c.outcome,
            c.paused_at,
            i.team,
        ).select_from(t.clocks.join(t.interactions, c.interaction_id == i.id))
    ).all()
    found: Counter[tuple[str, str, str]] = Counter()
    for r in rows:
        if r.interaction_id in probes:
            continue
        record = ClockRecord(
            r.policy, r.promise, r.channel, r.topic, r.due_at, r.stopped_at, r.outcome, r.paused_at
        )
        verdict = decided_in(record, start, end, NOW)
        if verdict is not None:
            found[(r.policy, r.team, {"breached": "missed"}.get(verdict, verdict))] += 1
    return found


def _fast(conn: sa.Connection, start: datetime, end: datetime) -> Counter[tuple[str, str, str]]:
    found: Counter[tuple[str, str, str]] = Counter()
    for team in TEAMS:
        perf = compute(conn, start, end, NOW, filters=Filters(team=team))
        for policy, _, tally in perf.by_policy:
            for verdict, n in (
                ("met", tally.met),
                ("missed", tally.missed),
                ("set_aside", tally.set_aside),
            ):
                if n:
                    found[(policy, team, verdict)] += n
        assert [name for name, _ in perf.by_group["team"] if name != "-"] in ([team], [])
    return found


def _random_clocks(conn: sa.Connection, rng: random.Random, case: int) -> None:
    for _ in range(rng.randint(1, 3)):
        policy, promise = rng.choice(POLICIES)
        due = BASE + timedelta(hours=rng.randint(0, 24 * 60))
        kind = rng.choice(["open", "met", "breached", "not_met", "withdrawn", "paused"])
        stopped = outcome = paused = None
        if kind in ("met", "breached", "not_met", "withdrawn"):
            outcome = kind
            shift = timedelta(hours=rng.randint(1, 48))
            stopped = due - shift if kind == "met" else due + shift
        elif kind == "paused":
            paused = due + timedelta(hours=rng.randint(-48, 48))
        _clock(
            conn, case, policy, promise, due=due, stopped=stopped, outcome=outcome, paused=paused
        )


def test_figures_follow_transfers_reclassification_reopening_and_probes(
    engine: sa.Engine,
) -> None:
    migrate(engine)
    rng = random.Random(18)
    cases: list[int] = []
    with engine.begin() as conn:
        for n in range(40):
            case = _case(conn, 500 + n, team=rng.choice(TEAMS))
            cases.append(case)
            _random_clocks(conn, rng, case)
        # Named a probe after its clocks were stored, and one named before any clock.
        for n, case in enumerate(cases[:3]):
            conn.execute(
                tp.probe_cases.insert().values(
                    interaction_id=case, nonce=f"n{n}", channel="email", marked_at=BASE
                )
            )
        _random_clocks(conn, rng, cases[0])
        # A case named by mistake and then taken off the list counts again.
        conn.execute(sa.delete(tp.probe_cases).where(tp.probe_cases.c.interaction_id == cases[2]))
        # A transfer written by a bare UPDATE (an import, a fix by hand).
        conn.execute(
            t.interactions.update().where(t.interactions.c.id == cases[5]).values(team="asb")
        )

    with UnitOfWork(engine, now=lambda: NOW) as uow:
        repo = SqlInteractions(uow)
        for case in cases[6:16]:
            found = repo.get(case)
            found.assign(team=rng.choice(TEAMS), at=NOW)
            repo.save(found)
        for case in cases[16:22]:
            found = repo.get(case)
            found.reclassify(
                topic="asb", urgency="routine", intent=None, team="asb", by="test", at=NOW
            )
            repo.save(found)
        uow.commit()

    with engine.begin() as conn:
        # Reopened: the case goes to another team and gets a new clock, which must carry
        # the team it has now.
        conn.execute(
            t.interactions.update()
            .where(t.interactions.c.id == cases[30])
            .values(team="complaints", status="open")
        )
        _random_clocks(conn, rng, cases[30])

    with engine.connect() as conn:
        stale = conn.execute(
            sa.select(sa.func.count())
            .select_from(
                t.clocks.join(t.interactions, t.clocks.c.interaction_id == t.interactions.c.id)
            )
            .where(t.clocks.c.team != t.interactions.c.team)
        ).scalar_one()
        assert stale == 0
        for start, end in (
            (datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC)),
            (BASE, datetime(2027, 1, 1, tzinfo=UTC)),
        ):
            slow = _slow(conn, start, end)
            assert slow  # the fixture decides clocks in both periods
            assert _fast(conn, start, end) == slow
            everyone = compute(conn, start, end, NOW)
            assert sum(x.decided + x.set_aside for _, _, x in everyone.by_policy) == sum(
                slow.values()
            )
