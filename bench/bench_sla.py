"""Deadline computations per second on one core (target: at least 100,000/s; sla issue), for
working-day and elapsed policies, and clock operations (start, pause and resume).

The receipt times are spread over two years (2026-2027, aware UTC and naive London times
alike) so the calendar's precomputed span is exercised across Christmas, Easter and both
daylight-saving changes, not one cached answer. The calendar is the landlord's (Mon-Thu
08:30-17:15, Fri 08:30-16:45). Each figure is the best of three runs.

    .venv/bin/python -m bench sla
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench.table import print_table
from sla import Calendar, Clock, OfficeHours, load_policies

N = 100_000
TARGET = 100_000
HOURS = OfficeHours.from_mapping(
    {
        "mon": "08:30-17:15",
        "tue": "08:30-17:15",
        "wed": "08:30-17:15",
        "thu": "08:30-17:15",
        "fri": "08:30-16:45",
    }
)


def _receipts(n: int) -> list[datetime]:
    rng = random.Random(11)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    moments = []
    for _ in range(n):
        moment = start + timedelta(seconds=rng.randrange(2 * 365 * 86400))
        # Half naive London wall times, as channels often hand them over.
        moments.append(moment if rng.random() < 0.5 else moment.replace(tzinfo=None))
    return moments


def _rate(run: Callable[[], object], calls: int) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return calls / best


def main() -> None:
    policies = load_policies()
    calendar = Calendar(office_hours=HOURS)
    receipts = _receipts(N)

    started = time.perf_counter()
    Calendar(office_hours=HOURS).add_working_days(receipts[0], 2)
    cold_ms = (time.perf_counter() - started) * 1000

    rows: list[list[object]] = []

    def deadline_row(label: str, name: str) -> None:
        policy = policies[name]
        policy.deadline(receipts[0], calendar)  # build the span once

        def run() -> None:
            for received in receipts:
                policy.deadline(received, calendar)

        rate = _rate(run, N)
        verdict = "yes" if rate >= TARGET else "NO"
        rows.append(
            [
                label,
                f"{name} ({policy.describe().split(';')[0]})",
                f"{rate:,.0f}",
                f">= {TARGET:,}",
                verdict,
            ]
        )

    deadline_row("deadline, working days", "ack-2")
    deadline_row("deadline, working days", "complaint-stage2-response")
    deadline_row("deadline, elapsed hours", "awaab-emergency")
    deadline_row("deadline, elapsed minutes", "email-ack-now")
    deadline_row("deadline, one month (ICO)", "sar")

    ack = policies["ack-2"]
    emergency = policies["awaab-emergency"]
    some = receipts[: N // 5]

    def start_only() -> None:
        for received in some:
            Clock.start(ack, received, calendar)

    rate = _rate(start_only, len(some))
    rows.append(["Clock.start (deadline + due-soon time)", "ack-2", f"{rate:,.0f}", "-", "-"])

    def start_pause_resume(policy_name: str) -> Callable[[], None]:
        policy = policies[policy_name]

        def run() -> None:
            for received in some:
                clock = Clock.start(policy, received, calendar)
                moment = received + timedelta(hours=3)
                clock.pause(moment).resume(moment + timedelta(hours=20), policy, calendar)

        return run

    for policy in (ack, emergency):
        rate = _rate(start_pause_resume(policy.name), len(some))
        rows.append(["Clock.start + pause + resume", policy.name, f"{rate:,.0f}", "-", "-"])

    rows.append(
        [
            "first deadline on a new calendar",
            "ack-2 (builds 4 years)",
            f"{cold_ms:.0f} ms",
            "-",
            "-",
        ]
    )
    print_table(["measure", "policy", "per second (1 core)", "target", "met"], rows)


if __name__ == "__main__":
    main()
