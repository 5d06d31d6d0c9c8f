"""`doorstep probe`: the mystery shopper (docs/probe.md).

    doorstep probe                    # a marked enquiry on every configured channel
    doorstep probe --channel webchat  # one channel
    doorstep probe --status           # each channel's health from the last probes

Exit status 0 when every probe passed (slow counts as passed), 1 when one failed.
`doorstep serve` runs it on its own when `probe.every_minutes` is set.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from bot.cli import CliError

CHANNELS = ("email", "webchat", "sms")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "probe", help="send a marked test enquiry on each channel and time the acknowledgement"
    )
    parser.add_argument("--channel", action="append", choices=CHANNELS, help="only this channel")
    parser.add_argument("--status", action="store_true", help="show each channel's health")
    parser.set_defaults(handler=_probe)


def _probe(args: argparse.Namespace) -> int:
    import asyncio

    from bot.cli.common import settings_from
    from bot.probe.health import channel_health
    from bot.probe.runner import FAILED, ProbeRunner
    from bot.probe.shoppers import ProbeSendError, problems_for, shoppers_for
    from bot.storage.db import create_engine, migrate

    settings = settings_from(args)
    engine = create_engine(settings.database_url)
    try:
        migrate(engine)
        if args.status:
            with engine.connect() as conn:
                for health in channel_health(conn, settings, datetime.now(UTC)):
                    print(f"{health.name}: {health.state}" + _detail(health))
            return 0
        if not settings.probe.channels:
            raise CliError("no channel to probe: set probe.email, probe.webchat or probe.sms")
        wanted = args.channel or settings.probe.channels
        problems = problems_for(settings)
        for channel in wanted:
            if channel not in settings.probe.channels:
                raise CliError(f"--channel {channel}: not configured in probe settings")
            if channel in problems:
                raise CliError(f"probe.{channel}: {problems[channel]}")
        try:
            runner = ProbeRunner(
                settings, engine, shoppers_for(settings), now=lambda: datetime.now(UTC)
            )
        except ProbeSendError as exc:
            raise CliError(str(exc)) from exc
        results = asyncio.run(runner.run(list(wanted)))
    finally:
        engine.dispose()
    for result in results:
        print(result.line())
    return 1 if any(r.status == FAILED for r in results) else 0


def _detail(health: Any) -> str:
    if health.last_at is None:
        return " (never probed)"
    took = f", {health.seconds:.1f} s" if health.seconds is not None else ""
    why = f": {health.reason}" if health.reason else ""
    return f" (last {health.last_at:%Y-%m-%d %H:%M} UTC, {health.last_status}{took}{why})"
