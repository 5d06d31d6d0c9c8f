"""What a new enquiry's clocks cost now that every change goes through the Interaction
aggregate (issue 12): SQL statements and time per email, from stored to acknowledged
(the pipeline makes the promises, `clocks_started`) and from queued to sent (the outbox's
send keeps EMAIL-NOW, `clocks_kept`), on SQLite and on PostgreSQL.

Statements are counted at the driver (a batch of rows is one), so that column does not
depend on how loaded the machine is; the times do.

    .venv/bin/python -m bench enquiry_clocks [N]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bench.table import print_table
from bot.storage.db import create_engine, migrate
from tests.fakes import FakeClock
from tests.integration.helpers import deliver, make_app

MONDAY_10 = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)


def _counting(engine: sa.Engine) -> Callable[[], int]:
    count = [0]

    def seen(*_: Any) -> None:
        count[0] += 1

    sa.event.listen(engine, "before_cursor_execute", seen)
    return lambda: count[0]


def _measure(engine: sa.Engine, backend: str, n: int) -> list[object]:
    app, sender = make_app(engine, FakeClock(MONDAY_10))
    for i in range(n):
        deliver(
            app, f"m{i}", subject="Boiler broken", body="My boiler is broken",
            **{"from": f"resident{i}@example.net"},
        )  # fmt: skip
    statements = _counting(engine)
    before = statements()
    started = time.perf_counter()
    processed = 0
    while batch := app.pipeline.process_pending():
        processed += len(batch)
    processing = time.perf_counter() - started
    after_processing = statements()
    started = time.perf_counter()
    while asyncio.run(app.outbox.run_once(limit=100)):
        pass
    sending = time.perf_counter() - started
    assert processed == n and len(sender.sent) == n, (processed, len(sender.sent))
    return [
        backend,
        n,
        f"{(after_processing - before) / n:.1f}",
        f"{processing * 1000 / n:.2f} ms",
        f"{(statements() - after_processing) / n:.1f}",
        f"{sending * 1000 / n:.2f} ms",
    ]


def main() -> None:
    n = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[1] == "enquiry_clocks" else 300
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/bench.db")
        migrate(engine)
        rows.append(_measure(engine, "sqlite", n))
        engine.dispose()
    os.environ.setdefault("DOORSTEP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        from tests.conftest import drop_pg_schema, make_pg_engine

        engine, schema = make_pg_engine()
    except Exception as exc:
        rows.append(["postgresql", n, "-", f"skipped: {exc}", "-", "-"])
    else:
        try:
            rows.append(_measure(engine, "postgresql", n))
        finally:
            engine.dispose()
            drop_pg_schema(schema)
    print_table(
        [
            "database",
            "emails",
            "statements / email (process)",
            "time / email (process)",
            "statements / email (send)",
            "time / email (send)",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
