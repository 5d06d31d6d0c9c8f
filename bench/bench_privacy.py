"""What the privacy checks cost, on a SQLite file (bot/service/joining.py, bot/privacy).

- the join decision for a reply quoting its own reference, and for a stranger quoting
  someone else's (the extra lookups on every threaded message);
- a retention run (dry run, then applied) over a year of messages;
- a subject access export for a resident with many cases.

    .venv/bin/python -m bench privacy [CASES]    # default 5,000 cases
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.table import print_table
from bot.bootstrap import build_calendar, build_policies
from bot.domain.model import Channel, InboundMessage
from bot.privacy import retention, sar
from bot.service import joining
from bot.service.clocks import ClockService
from bot.settings import Settings
from bot.storage import tables as t
from bot.storage.db import create_engine, migrate
from bot.storage.repository import UnitOfWork

START = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)


def _fill(engine: sa.Engine, cases: int) -> list[tuple[str, str]]:
    """`cases` cases from cases // 10 residents, one message each, spread over a year."""
    made: list[tuple[str, str]] = []
    with UnitOfWork(engine, lambda: START) as uow:
        for n in range(cases):
            email = f"resident{n % max(1, cases // 10)}@example.net"
            at = START + timedelta(minutes=n * 100)
            contact = uow.contact_for("email", email)
            row = uow.create_interaction(
                prefix="DS", contact_id=contact, channel="email", topic="repair",
                urgency="routine", intent=None, team="repairs", owner=None,
                subject=f"Leak {n}", address=email, classification=None, now=at,
            )  # fmt: skip
            inbound = uow.store_raw_inbound(
                channel=Channel.EMAIL, source="bench", source_key=str(n), raw=b"x" * 2000
            )
            uow.conn.execute(
                t.inbound_messages.update()
                .where(t.inbound_messages.c.id == inbound)
                .values(
                    status="processed", interaction_id=row.id, sender=email, body="leak",
                    stored_at=at, received_at=at,
                )
            )  # fmt: skip
            if n % 3 == 0:
                uow.conn.execute(
                    t.interactions.update()
                    .where(t.interactions.c.id == row.id)
                    .values(status="closed", updated_at=at)
                )
            made.append((row.reference, email))
        uow.commit()
    return made


def _decide_ms(engine: sa.Engine, made: list[tuple[str, str]], stranger: bool) -> list[float]:
    times = []
    with UnitOfWork(engine) as uow:
        for reference, email in made[:1000]:
            msg = InboundMessage(
                channel=Channel.EMAIL,
                external_id="<bench@example.net>",
                sender="someone@else.example" if stranger else email,
                received_at=START,
                body=f"about {reference}",
                subject=f"Re: [{reference}]",
            )
            began = time.perf_counter()
            joining.decide(uow, msg)
            times.append((time.perf_counter() - began) * 1000)
    return times


def main() -> None:
    cases = next((int(a) for a in sys.argv[1:] if a.isdigit()), 5000)
    settings = Settings()
    clocks = ClockService(build_policies(settings), build_calendar(settings))
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            migrate(engine)
            began = time.perf_counter()
            made = _fill(engine, cases)
            rows.append((f"fill {cases} cases", f"{time.perf_counter() - began:.1f} s"))
            for stranger in (False, True):
                ms = _decide_ms(engine, made, stranger)
                label = "stranger quoting a reference" if stranger else "own reply quoting it"
                p95 = statistics.quantiles(ms, n=20)[18]
                rows.append(
                    (
                        f"join decision, {label}",
                        f"median {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms",
                    )
                )
            now = START + timedelta(days=400)
            for dry in (True, False):
                began = time.perf_counter()
                at = now if dry else now + timedelta(days=6 * 366)
                with engine.begin() as conn:
                    run = retention.plan if dry else retention.apply
                    done = run(conn, settings.privacy.retention, at)
                what = "dry run" if dry else "applied (6 years on)"
                rows.append(
                    (
                        f"retention {what}",
                        f"{time.perf_counter() - began:.2f} s "
                        f"(raw {done.raw_payloads}, closed {done.closed_interactions})",
                    )
                )
            began = time.perf_counter()
            out = sar.export(
                engine, settings, clocks, email=made[1][1], phone=None,
                out_dir=Path(tmp) / "sar", now=now,
            )  # fmt: skip
            rows.append(
                (
                    f"SAR export ({out.counts['cases']} cases)",
                    f"{time.perf_counter() - began:.2f} s",
                )
            )
        finally:
            engine.dispose()
    print_table(["what", "took"], rows)


if __name__ == "__main__":
    main()
