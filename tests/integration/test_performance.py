"""The performance figures computed in the database (SQLite and PostgreSQL) against a fixture
worked out by hand, including cases closed with their promises not met, and against
`sla.reports.share_met` (the same rule in Python) on a random fixture."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from bot.service.performance import Filters, compute
from bot.storage import tables as t
from bot.storage.db import migrate
from sla.reports import ClockRecord, share_met

pytestmark = pytest.mark.integration

START = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
END = datetime(2026, 11, 30, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def _case(
    conn: sa.Connection,
    n: int,
    *,
    channel: str = "email",
    topic: str = "repair",
    team: str = "repairs",
) -> int:
    contact = conn.execute(t.contacts.insert().values(name=f"R{n}", needs=[])).inserted_primary_key
    return int(
        conn.execute(
            t.interactions.insert().values(
                reference=f"DS-TEST-{n:04d}",
                contact_id=contact[0],
                channel=channel,
                topic=topic,
                urgency="routine",
                team=team,
                status="open",
                created_at=START + timedelta(hours=n),
                updated_at=START,
            )
        ).inserted_primary_key[0]
    )


def _clock(
    conn: sa.Connection,
    interaction: int,
    policy: str,
    promise: str,
    *,
    due: datetime,
    stopped: datetime | None = None,
    outcome: str | None = None,
    paused: datetime | None = None,
    started: datetime | None = None,
    channel: str = "email",
    topic: str = "repair",
) -> None:
    conn.execute(
        t.clocks.insert().values(
            interaction_id=interaction,
            policy=policy,
            promise=promise,
            channel=channel,
            topic=topic,
            started_at=started or due - timedelta(days=2),
            due_at=due,
            warn_at=due,
            paused_at=paused,
            stopped_at=stopped,
            outcome=outcome,
            is_open=stopped is None,
            paused_seconds=0.0,
            extended_days=0,
        )
    )


@pytest.fixture
def db(engine: sa.Engine) -> sa.Engine:
    migrate(engine)
    return engine


def test_figures_match_a_fixture_worked_out_by_hand(db: sa.Engine) -> None:
    d = lambda day, hour=12: datetime(2026, 11, day, hour, tzinfo=UTC)  # noqa: E731
    with db.begin() as conn:
        a = _case(conn, 1)
        _clock(conn, a, "email-ack-now", "EMAIL-NOW", due=d(3), stopped=d(3, 11), outcome="met")
        _clock(conn, a, "respond-10", "RESP-10", due=d(10), stopped=d(12), outcome="breached")
        # Closed as "Repair booked" with the 24-hour clock still open: staff said not met.
        b = _case(conn, 2)
        _clock(conn, b, "ack-2", "ACK-2", due=d(5), stopped=d(4), outcome="met")
        _clock(conn, b, "awaab-emergency", "EMERGENCY", due=d(6), stopped=d(9), outcome="not_met")
        # A complaint closed before it was acknowledged: not met, decided when it was closed.
        c = _case(conn, 3, topic="complaint", team="complaints")
        _clock(
            conn,
            c,
            "complaint-procedure-1",
            "COMPLAINT",
            due=d(17),
            stopped=d(16),
            outcome="met",
            topic="complaint",
        )
        _clock(
            conn,
            c,
            "complaint-stage1-ack",
            "COMPLAINT",
            due=d(24),
            stopped=d(18),
            outcome="not_met",
            topic="complaint",
        )
        # Withdrawn: set aside. Open and overdue: missed. Open, not due: not counted.
        e = _case(conn, 4, channel="sms")
        _clock(
            conn, e, "ack-2", "ACK-2", due=d(20), stopped=d(19), outcome="withdrawn", channel="sms"
        )
        _clock(conn, e, "respond-10", "RESP-10", due=d(25), channel="sms")
        _clock(
            conn, e, "handoff-3", "HANDOFF", due=datetime(2026, 12, 3, tzinfo=UTC), channel="sms"
        )
        # Paused before its due time (waiting on the resident): not counted.
        _clock(conn, e, "asb-routine-5", "ASB", due=d(26), paused=d(21), channel="sms")
        # Decided outside the period: not counted.
        _clock(conn, e, "ack-2", "ACK-2", due=d(1), stopped=d(1, 9), outcome="met", channel="sms")
    with db.connect() as conn:
        perf = compute(conn, START, END, NOW, homes=2000)
    tallies = {p: (x.met, x.missed, x.set_aside) for p, _, x in perf.by_policy}
    assert tallies == {
        "email-ack-now": (1, 0, 0),
        "respond-10": (0, 2, 0),  # one kept late, one still open past its due time
        "ack-2": (1, 0, 1),
        "awaab-emergency": (0, 1, 0),
        "complaint-procedure-1": (1, 0, 0),
        "complaint-stage1-ack": (0, 1, 0),
    }
    figures = {f.id: tally for f, tally in perf.figures}
    assert (figures["ack"].met, figures["ack"].missed, figures["ack"].set_aside) == (2, 0, 1)
    assert figures["respond"].share == 0.0
    assert figures["awaab"].share == 0.0  # never counted as met because the case was closed
    assert figures["ch02_1"].decided == 0
    channels = dict(perf.by_group["channel"])
    assert (channels["sms"].missed, channels["sms"].set_aside) == (1, 1)
    assert perf.ch01 == {
        "homes": 2000,
        "stage1": 1,
        "stage2": 0,
        "stage1_per_1000": 0.5,
        "stage2_per_1000": 0.0,
    }
    assert {b.policy for b in perf.breaches} == {
        "respond-10",
        "awaab-emergency",
        "complaint-stage1-ack",
    }
    weekly = dict(perf.trend["ack"])
    assert weekly[datetime(2026, 11, 2).date()].met == 2  # both in the week of 2 November
    assert sum(count for _, count in perf.ack_times) == 2  # kept promises only (met)
    with db.connect() as conn:
        sms = compute(conn, START, END, NOW, filters=Filters(channel="sms"))
    assert {p for p, _, _ in sms.by_policy} == {"ack-2", "respond-10"}


def test_sql_figures_equal_the_python_rule_on_random_clocks(db: sa.Engine) -> None:
    rng = random.Random(7)
    records: list[ClockRecord] = []
    policies = [
        ("ack-2", "ACK-2"),
        ("respond-10", "RESP-10"),
        ("asb-routine-5", "ASB"),
        ("complaint-stage1-response", "COMPLAINT"),
        ("social", "SOCIAL"),
    ]
    base = datetime(2026, 10, 1, tzinfo=UTC)
    with db.begin() as conn:
        for n in range(60):
            case = _case(conn, 100 + n, channel=rng.choice(["email", "sms", "webchat"]))
            for _ in range(rng.randint(1, 4)):
                policy, promise = rng.choice(policies)
                due = base + timedelta(hours=rng.randint(0, 24 * 80))
                kind = rng.choice(
                    ["open", "met", "breached", "not_met", "withdrawn", "superseded", "paused"]
                )
                stopped = outcome = paused = None
                if kind in ("met", "breached", "not_met", "withdrawn", "superseded"):
                    outcome = kind
                    shift = timedelta(hours=rng.randint(-48, 48))
                    stopped = due - abs(shift) if kind == "met" else due + shift
                elif kind == "paused":
                    paused = due + timedelta(hours=rng.randint(-48, 48))
                _clock(
                    conn,
                    case,
                    policy,
                    promise,
                    due=due,
                    stopped=stopped,
                    outcome=outcome,
                    paused=paused,
                )
                records.append(
                    ClockRecord(policy, promise, "x", "repair", due, stopped, outcome, paused)
                )
    for start, end in (
        (datetime(2026, 10, 5, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC)),
        (base, datetime(2027, 1, 1, tzinfo=UTC)),
    ):
        with db.connect() as conn:
            perf = compute(conn, start, end, NOW)
        ours = {p: (x.met, x.missed, x.set_aside) for p, _, x in perf.by_policy}
        python: dict[str, Any] = {
            row.key[0]: (row.met, row.breached, row.set_aside)
            for row in share_met(records, start, end, ("policy",), NOW)
        }
        assert ours == python


# ---- the staff page and its exports --------------------------------------------------------


async def test_staff_performance_page_and_exports_show_the_same_figures(engine: sa.Engine) -> None:
    from tests.integration.test_dashboard import MONDAY, open_env

    async with open_env(engine) as env:
        ref = None
        with env.engine.begin() as conn:
            case = _case(conn, 900)
            ref = "DS-TEST-0900"
            due = MONDAY - timedelta(days=3)
            _clock(
                conn,
                case,
                "ack-2",
                "ACK-2",
                due=due,
                stopped=due - timedelta(hours=1),
                outcome="met",
            )
            _clock(
                conn, case, "awaab-emergency", "EMERGENCY", due=due, stopped=due, outcome="not_met"
            )
        assert await env.status("/staff/performance") == 303  # signed in only
        await env.login("rita@landlord.example")
        page = await env.html("/staff/performance")
        assert "How we are keeping our promises" in page
        assert "2-ten: acknowledged in time" in page and "100%" in page
        assert ref in page  # the Awaab's Law clock closed as not met is a breach, with its case
        assert 'role="img"' in page and "<table>" in page
        data = (await env.client.get("/staff/performance.json")).json()
        awaab = next(f for f in data["figures"] if f["id"] == "awaab")
        assert (awaab["met"], awaab["missed"]) == (0, 1)
        csv_text = (await env.client.get("/staff/performance.csv")).text
        assert "figure,awaab," in csv_text.replace('"', "")
        bad = await env.client.get("/staff/performance?from=not-a-date")
        assert bad.status_code == 400
