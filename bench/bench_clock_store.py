"""'What is due soon or breached now' over 1,000,000 stored open clocks, on SQLite and on
PostgreSQL (target: under a second each; sla issue). It should be one range scan of the
partial index on warn_at; this measures the real query the dashboard and the sweeper use,
and the "plan" column shows what the database did with it (an index name, or "full scan").

    .venv/bin/python -m bench clock_store [N]
"""

from __future__ import annotations

import os
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bench.table import print_table
from bot.service.clocks import attention_needed, count_attention_needed
from bot.storage import tables as t
from bot.storage.db import create_engine, migrate

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _fill(engine: sa.Engine, n: int) -> None:
    rng = random.Random(7)
    with engine.begin() as conn:
        conn.execute(
            t.contacts.insert(), [{"id": 1, "name": "bench", "needs": [], "created_at": NOW}]
        )
        conn.execute(
            t.interactions.insert(),
            [
                {
                    "id": 1,
                    "reference": "DS-2026-000001",
                    "contact_id": 1,
                    "channel": "email",
                    "topic": "repair",
                    "urgency": "routine",
                    "team": "repairs",
                    "status": "open",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            ],
        )
    batch = 20_000
    for start in range(0, n, batch):
        rows = []
        for _ in range(min(batch, n - start)):
            # Most clocks are comfortably in the future; about 1% need attention now.
            offset = timedelta(hours=rng.uniform(-6, 600))
            due = NOW + offset
            rows.append(
                {
                    "interaction_id": 1,
                    "policy": "respond-10",
                    "promise": "RESP-10",
                    "channel": "email",
                    "topic": "repair",
                    "started_at": due - timedelta(days=14),
                    "due_at": due,
                    "warn_at": due - timedelta(hours=4),
                    "paused_seconds": 0.0,
                    "extended_days": 0,
                    "is_open": True,
                }
            )
        with engine.begin() as conn:
            conn.execute(t.clocks.insert(), rows)


def _plan(engine: sa.Engine) -> str:
    """How the database runs the real queries: each statement they send, EXPLAINed. An
    index name means the indexed range scan the issue asks for; "full scan" means not."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        with engine.connect() as conn:
            count_attention_needed(conn, NOW)
            attention_needed(conn, NOW, limit=100)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    found: list[str] = []
    with engine.connect() as conn:
        for statement, parameters in sent:
            if engine.dialect.name == "sqlite":
                details = [row[-1] for row in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN " + statement, parameters
                )]  # fmt: skip
                index = re.search(r"USING (?:COVERING )?INDEX (\w+)", " ".join(details))
                scan = any(d.startswith("SCAN clocks") for d in details)
            else:
                details = [
                    row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)
                ]
                index = re.search(r"Index (?:Only )?Scan (?:using|on) (\w+)", " ".join(details))
                scan = any("Seq Scan on clocks" in d for d in details)
            label = "full scan" if scan or index is None else index.group(1)
            if label not in found:
                found.append(label)
    return ", ".join(found)


def _measure(engine: sa.Engine) -> tuple[float, float, int]:
    timings = []
    found = 0
    for _ in range(5):
        started = time.perf_counter()
        with engine.connect() as conn:
            counts = count_attention_needed(conn, NOW)
            found = len(attention_needed(conn, NOW, limit=100_000))
        timings.append(time.perf_counter() - started)
    assert found == counts["breached"] + counts["due_soon"]
    return statistics.median(timings), max(timings), found


def main() -> None:
    n = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[1] == "clock_store" else 1_000_000
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/bench.db")
        migrate(engine)
        started = time.perf_counter()
        _fill(engine, n)
        fill = time.perf_counter() - started
        median, worst, found = _measure(engine)
        rows.append(
            [
                "sqlite",
                f"{n:,}",
                f"{found:,}",
                f"{median * 1000:.0f} ms",
                f"{worst * 1000:.0f} ms",
                "< 1000 ms",
                f"{fill:.0f} s",
                _plan(engine),
            ]
        )
        engine.dispose()
    pg_url = os.environ.get("DOORSTEP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        from tests.conftest import drop_pg_schema, make_pg_engine

        os.environ.setdefault("DOORSTEP_TEST_PG_URL", pg_url)
        engine, schema = make_pg_engine()
    except Exception as exc:
        rows.append(["postgresql", "-", "-", "-", "-", "< 1000 ms", f"skipped: {exc}", "-"])
    else:
        try:
            started = time.perf_counter()
            _fill(engine, n)
            with engine.begin() as conn:
                conn.execute(sa.text("ANALYZE clocks"))
            fill = time.perf_counter() - started
            median, worst, found = _measure(engine)
            rows.append(
                [
                    "postgresql",
                    f"{n:,}",
                    f"{found:,}",
                    f"{median * 1000:.0f} ms",
                    f"{worst * 1000:.0f} ms",
                    "< 1000 ms",
                    f"{fill:.0f} s",
                    _plan(engine),
                ]
            )
        finally:
            engine.dispose()
            drop_pg_schema(schema)
    print_table(
        [
            "database",
            "open clocks",
            "need attention",
            "median",
            "worst of 5",
            "target",
            "fill",
            "plan",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
