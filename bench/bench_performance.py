"""The performance page's figures over 1,000,000 clocks (target: under 500 ms on SQLite and
PostgreSQL; issue 18).

Stores about 250,000 interactions over two years with four clocks each (acknowledgement,
hand-off, response and, for some, a complaint or Awaab's Law clock), with every outcome:
met, kept late, not met, withdrawn, still open and overdue, paused. Then times
`bot.service.performance.compute` (the grouped query, the distributions, volume, CH01 and
the breaches) for the page's default period (13 weeks), for a year by month, and for 13
weeks filtered to one team.

    .venv/bin/python -m bench performance [N_CLOCKS]
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bench.bench_dashboard import _backends
from bench.table import print_table
from bot.service.performance import Filters, compute
from bot.storage import tables as t
from bot.storage.db import migrate

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TEAMS = ("customer-services", "repairs", "asb", "complaints")
RUNS = 7
TARGET_MS = 500


def _fill(engine: sa.Engine, clocks_wanted: int) -> None:
    rng = random.Random(18)
    n = clocks_wanted // 4
    batch = 10_000
    with engine.begin() as conn:
        conn.execute(
            t.contacts.insert(), [{"id": 1, "name": "Resident", "needs": [], "created_at": NOW}]
        )
    clock_id = 0
    for start in range(0, n, batch):
        interactions, clocks = [], []
        for i in range(start, min(start + batch, n)):
            created = NOW - timedelta(minutes=rng.uniform(0, 60 * 24 * 730))
            topic = rng.choice(("repair", "repair", "asb", "general", "complaint"))
            channel = rng.choice(("email", "sms", "webchat", "social"))
            interactions.append(
                {
                    "id": i + 1,
                    "reference": f"DS-B-{i + 1:07d}",
                    "contact_id": 1,
                    "channel": channel,
                    "topic": topic,
                    "urgency": "routine",
                    "team": rng.choice(TEAMS),
                    "status": "closed",
                    "created_at": created,
                    "updated_at": created,
                }
            )
            extra = "complaint-stage1-response" if topic == "complaint" else "awaab-emergency"
            for policy, days in (("ack-2", 2), ("handoff-3", 3), ("respond-10", 10), (extra, 5)):
                clock_id += 1
                due = created + timedelta(days=days)
                kind = rng.choices(
                    ("met", "breached", "not_met", "withdrawn", "open", "paused"),
                    (70, 10, 5, 3, 8, 4),
                )[0]
                stopped = paused = outcome = None
                if kind in ("met", "breached", "not_met", "withdrawn"):
                    outcome = kind
                    delta = timedelta(hours=rng.uniform(1, 48))
                    stopped = due - delta if kind == "met" else due + delta
                elif kind == "paused":
                    paused = due - timedelta(hours=rng.uniform(1, 48))
                clocks.append(
                    {
                        "id": clock_id,
                        "interaction_id": i + 1,
                        "policy": policy,
                        "promise": policy,
                        "channel": channel,
                        "topic": topic,
                        "started_at": created,
                        "due_at": due,
                        "warn_at": due,
                        "paused_at": paused,
                        "paused_seconds": 0.0,
                        "extended_days": 0,
                        "stopped_at": stopped,
                        "outcome": outcome,
                        "is_open": stopped is None,
                    }
                )
        with engine.begin() as conn:
            conn.execute(t.interactions.insert(), interactions)
            conn.execute(t.clocks.insert(), clocks)
    if engine.dialect.name == "postgresql":
        # What autovacuum does on a live table: the visibility map lets the covering index
        # answer without visiting the table (an index-only scan).
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE clocks"))
            conn.execute(sa.text("VACUUM ANALYZE interactions"))
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))


def _timed(engine: sa.Engine, start: datetime, end: datetime, **kw: object) -> list[float]:
    times = []
    for _ in range(RUNS):
        began = time.perf_counter()
        with engine.connect() as conn:
            compute(conn, start, end, NOW, **kw)  # type: ignore[arg-type]
        times.append((time.perf_counter() - began) * 1000)
    return times


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    counts = [a for a in args if a.isdigit()]
    wanted = int(counts[0]) if counts else 1_000_000
    rows: list[list[object]] = []
    for backend, make in _backends():
        engine, cleanup = make()
        try:
            migrate(engine)
            began = time.perf_counter()
            _fill(engine, wanted)
            print(f"({backend}: stored {wanted:,} clocks in {time.perf_counter() - began:.0f} s)")
            quarter = NOW - timedelta(weeks=13)
            year = NOW - timedelta(days=365)
            for what, start, kw in (
                ("13 weeks by week (the default)", quarter, {}),
                ("12 months by month", year, {"bucket": "month"}),
                ("13 weeks, one team", quarter, {"filters": Filters(team="repairs")}),
            ):
                times = _timed(engine, start, NOW, **kw)
                p50, worst = statistics.median(times), max(times)
                rows.append(
                    [
                        backend,
                        what,
                        f"{p50:.0f}",
                        f"{worst:.0f}",
                        "yes" if worst < TARGET_MS else "NO",
                    ]
                )
        finally:
            engine.dispose()
            cleanup()
    print()
    print_table(
        [
            "database",
            f"figures over {wanted:,} clocks",
            "p50 ms",
            f"max of {RUNS} ms",
            f"< {TARGET_MS} ms",
        ],
        rows,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
