"""`doorstep case link`: after checking, join a case that mentioned another resident's
reference into it (bot/service/joining.py).

    doorstep case link DS-NEW1-2345 DS-7KQM-4W3P --by ada@landlord.example [--trust-sender]
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("case", help="staff actions on cases from the command line")
    sub = parser.add_subparsers(dest="case_command", required=True)
    link = sub.add_parser(
        "link", help="move a case that mentioned another reference into that case"
    )
    link.add_argument("mentioning", help="the new case, marked 'mentions DS-...'")
    link.add_argument("into", help="the resident's case it mentioned")
    link.add_argument("--by", required=True, help="who checked it (recorded)")
    link.add_argument(
        "--trust-sender",
        action="store_true",
        help="the sender is the resident: their address or number joins the case from now on",
    )
    link.set_defaults(handler=_link)


def _link(args: argparse.Namespace) -> int:
    from bot.bootstrap import build_calendar, build_policies
    from bot.cli import CliError
    from bot.cli.common import settings_from
    from bot.service.clocks import ClockService
    from bot.service.joining import LinkError, link_mention
    from bot.storage.db import create_engine
    from bot.storage.repository import UnitOfWork

    settings = settings_from(args)
    engine = create_engine(settings.database_url)
    clocks = ClockService(build_policies(settings), build_calendar(settings))
    now = datetime.now(UTC)
    try:
        with UnitOfWork(engine, lambda: now) as uow:
            done = link_mention(
                uow,
                clocks,
                mentioning=args.mentioning,
                into=args.into,
                by=args.by,
                trust_sender=args.trust_sender,
                now=now,
            )
            uow.commit()
    except LinkError as exc:
        raise CliError(str(exc)) from exc
    finally:
        engine.dispose()
    print(f"Moved {done.messages} message(s) from {args.mentioning} into {args.into}.")
    if done.trusted:
        print("The sender's address or number now joins that case by itself.")
    return 0
