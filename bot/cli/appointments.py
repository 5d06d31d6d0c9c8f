"""`doorstep appointments import FILE.csv` and `doorstep appointments list` (APPT).

The CSV has a header row with these columns (any order; resident_name and email may be
empty or missing):

    job_ref,resident_name,phone,email,address,date,slot,trade
    J-1001,Jane Smith,07700 900123,jane@example.net,"4 Mill Lane, Leeds",2026-12-01,am,Plumbing

date: 2026-12-01 or 01/12/2026; slot: am, pm, all day, or a window like 10:00-12:00.
A new job reference is scheduled (the resident gets a text); a known one with a new date or
slot is moved (texted), other changes are updated quietly, and an unchanged row is skipped,
so importing the same file twice sends nothing twice. Each bad row is reported with its line
number and the good rows are still imported; the exit status is 1 when any row was bad.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actions.appointments import AppointmentService

REQUIRED_COLUMNS = ("job_ref", "phone", "address", "date", "slot", "trade")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("appointments", help="repair appointments and their texts")
    sub = parser.add_subparsers(dest="appointments_command", required=True)
    imp = sub.add_parser("import", help="schedule appointments from a CSV file")
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=_import)
    lst = sub.add_parser("list", help="list appointments")
    lst.add_argument("--all", action="store_true", help="include past appointments")
    lst.set_defaults(handler=_list)


def _service(args: argparse.Namespace) -> AppointmentService:
    from actions.acknowledge import Composer
    from actions.appointments import AppointmentService, Context
    from bot.bootstrap import build_calendar, build_policies
    from bot.cli.common import settings_from
    from bot.service.clocks import ClockService
    from bot.storage.db import create_engine, migrate

    settings = settings_from(args)
    engine = create_engine(settings.database_url)
    migrate(engine)
    from datetime import UTC, datetime

    ctx = Context(
        settings=settings,
        composer=Composer(settings.organisation, settings.templates_dir),
        clocks=ClockService(build_policies(settings), build_calendar(settings)),
        now=lambda: datetime.now(UTC),
    )
    return AppointmentService(engine, ctx)


def _import(args: argparse.Namespace) -> int:
    from actions.appointments import AppointmentError, InvalidAppointment
    from bot.cli import CliError

    path: Path = args.file
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from exc
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in REQUIRED_COLUMNS if c not in header]
        if missing:
            raise CliError(
                f"{path}: the header must name the columns {', '.join(REQUIRED_COLUMNS)} "
                f"(and optionally resident_name, email); missing: {', '.join(missing)}"
            )
        service = _service(args)
        counts = {"scheduled": 0, "moved": 0, "updated": 0, "unchanged": 0, "bad": 0}
        for row in reader:
            line = reader.line_num
            values = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
            if None in row:  # more cells than header columns
                print(f"{path}:{line}: more values than columns", file=sys.stderr)
                counts["bad"] += 1
                continue
            try:
                outcome = _import_row(service, values)
            except InvalidAppointment as exc:
                for field, message in exc.errors:
                    print(f"{path}:{line}: {field}: {message}", file=sys.stderr)
                counts["bad"] += 1
                continue
            except AppointmentError as exc:
                print(f"{path}:{line}: {exc}", file=sys.stderr)
                counts["bad"] += 1
                continue
            counts[outcome] += 1
    print(", ".join(f"{n} {k}" for k, n in counts.items()))
    return 1 if counts["bad"] else 0


def _import_row(service: AppointmentService, values: dict[str, str]) -> str:
    from actions.appointments import AppointmentNotFound, validate_input

    today = service.ctx.now().astimezone(service.ctx.zone).date()
    fields = validate_input(values, today=today)
    try:
        current = service.get(fields["job_ref"])
    except AppointmentNotFound:
        service.schedule(values)
        return "scheduled"
    changes = {k: v for k, v in values.items() if k != "job_ref"}
    before = (current.slot_date, current.slot, current.version)
    after = service.update(fields["job_ref"], changes)
    if (after.slot_date, after.slot) != before[:2]:
        return "moved"
    return "unchanged" if after.version == before[2] else "updated"


def _list(args: argparse.Namespace) -> int:
    service = _service(args)
    since: date | None = None
    if not args.all:
        since = service.ctx.now().astimezone(service.ctx.zone).date()
    rows = service.find(since=since)
    print("job_ref\tdate\tslot\tstatus\treminder\ttrade\taddress")
    for a in rows:
        print(
            f"{a.job_ref}\t{a.slot_date.isoformat()}\t{a.slot}\t{a.status}\t"
            f"{a.reminder_status}\t{a.trade}\t{a.address}"
        )
    return 0
