"""`doorstep retention`: apply the retention policy (bot/privacy/retention.py).

Run it daily (cron or a systemd timer, see docs/security.md):

    doorstep retention            # apply
    doorstep retention --dry-run  # say what would be removed, change nothing
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "retention", help="remove or anonymise personal data past its retention period"
    )
    parser.add_argument("--dry-run", action="store_true", help="count only; change nothing")
    parser.set_defaults(handler=_retention)


def _retention(args: argparse.Namespace) -> int:
    from bot.cli.common import settings_from
    from bot.privacy import retention
    from bot.storage.db import create_engine

    settings = settings_from(args)
    policy = settings.privacy.retention
    engine = create_engine(settings.database_url)
    now = datetime.now(UTC)
    try:
        with engine.begin() as conn:
            if args.dry_run:
                result = retention.plan(conn, policy, now)
            else:
                result = retention.apply(conn, policy, now)
    finally:
        engine.dispose()
    print(("Dry run: would remove" if args.dry_run else "Removed") + ":")
    for line in result.lines():
        print(f"  {line}")
    return 0
