"""`doorstep sar`: subject access requests and erasure (UK GDPR; bot/privacy/sar.py).

doorstep sar export --email jo@example.net [--phone 07700900123] [--out DIR]
                    [--received 2026-12-01]
doorstep sar erase --email jo@example.net --reason "request of 1 Dec, approved by DPO"
                   [--dry-run]
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sar", help="subject access requests and erasure")
    sub = parser.add_subparsers(dest="sar_command", required=True)
    exp = sub.add_parser(
        "export", help="write everything held about a person (JSON and HTML); start the clock"
    )
    _who(exp)
    exp.add_argument("--out", type=Path, default=None, help="folder (default ./sar-<reference>)")
    exp.add_argument(
        "--received", type=date.fromisoformat, default=None, help="day the request came in"
    )
    exp.set_defaults(handler=_export)
    era = sub.add_parser("erase", help="anonymise a person's closed cases (recorded)")
    _who(era)
    era.add_argument("--reason", required=True, help="why the law allows it (recorded)")
    era.add_argument("--dry-run", action="store_true", help="say what would be erased")
    era.set_defaults(handler=_erase)


def _who(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--email", default=None, help="the person's email address")
    parser.add_argument("--phone", default=None, help="the person's phone number")


def _check_who(args: argparse.Namespace) -> None:
    from bot.cli import CliError

    if not args.email and not args.phone:
        raise CliError("give --email or --phone (or both)")


def _export(args: argparse.Namespace) -> int:
    from bot.bootstrap import build_calendar, build_policies
    from bot.cli import CliError
    from bot.cli.common import settings_from
    from bot.privacy.sar import SubjectNotFound, export
    from bot.service.clocks import ClockService
    from bot.storage.db import create_engine

    _check_who(args)
    settings = settings_from(args)
    now = datetime.now(UTC)
    received = None
    if args.received is not None:
        london = ZoneInfo("Europe/London")
        received = datetime.combine(args.received, time(9, 0), tzinfo=london).astimezone(UTC)
    engine = create_engine(settings.database_url)
    clocks = ClockService(build_policies(settings), build_calendar(settings))
    staging = args.out or Path(f"sar-{now:%Y%m%d%H%M%S}")
    try:
        done = export(
            engine,
            settings,
            clocks,
            email=args.email,
            phone=args.phone,
            out_dir=staging,
            now=now,
            received_at=received,
        )
    except SubjectNotFound as exc:
        raise CliError(str(exc)) from exc
    finally:
        engine.dispose()
    counts = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in done.counts.items())
    due = done.due_at.astimezone(ZoneInfo("Europe/London"))
    print(f"Subject access request {done.reference}: answer due by {due.day} {due:%B %Y}.")
    print(f"Found {counts}.")
    print(f"Written (readable by you only): {done.json_path} and {done.html_path}")
    print("Check it before sending: other people's information may need to be removed.")
    return 0


def _erase(args: argparse.Namespace) -> int:
    from bot.cli import CliError
    from bot.cli.common import settings_from
    from bot.privacy.sar import SubjectNotFound, erase
    from bot.storage.db import create_engine

    _check_who(args)
    settings = settings_from(args)
    engine = create_engine(settings.database_url)
    try:
        erased, kept, done = erase(
            engine,
            email=args.email,
            phone=args.phone,
            reason=args.reason,
            now=datetime.now(UTC),
            dry_run=args.dry_run,
        )
    except (SubjectNotFound, ValueError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        engine.dispose()
    verb = "Would anonymise" if args.dry_run else "Anonymised"
    print(f"{verb} {len(erased)} closed case(s): {', '.join(erased) or 'none'}.")
    if kept:
        print(f"Kept, still open (close them first if erasure applies): {', '.join(kept)}.")
    if not args.dry_run:
        print(f"Messages cleared: {done.inbound + done.outbound}. The erasure is recorded.")
    return 0
