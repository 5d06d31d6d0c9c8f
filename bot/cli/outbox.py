"""`doorstep outbox`: send what the outbox holds, without the web app or the mail intake.

`doorstep serve` starts this for email (`outbox.email_processes`), so composing and sending
mail has a processor core of its own while the serve process reads and decides. It can
also be run by hand beside `doorstep serve`: workers share the outbox safely (each row is
claimed by one of them), on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from typing import Any

# Channels whose sending needs nothing held in the serve process (web chat rings the open
# sockets of the process that holds them, so it is always sent by serve).
SEPARABLE = ("email", "sms")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "outbox", help="send queued email (and texts) from a process of its own, beside serve"
    )
    parser.add_argument(
        "--channel",
        action="append",
        choices=SEPARABLE,
        help="a channel to send (repeatable; default: email)",
    )
    parser.add_argument("--log-level", default="info")
    # Used by `doorstep serve` for the process it starts: a byte on stdin means "new work",
    # end of file means "serve has gone, finish the batch and stop".
    parser.add_argument("--wake-stdin", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(handler=_outbox)


def _outbox(args: argparse.Namespace) -> int:
    import sqlalchemy as sa

    from bot.bootstrap import bootstrap_sending
    from bot.cli import CliError
    from bot.cli.common import settings_from
    from bot.domain.model import Channel
    from bot.settings import SettingsError

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = settings_from(args)
    channels = {Channel(name) for name in args.channel or ["email"]}
    try:
        engine, worker = bootstrap_sending(settings, channels)
    except SettingsError as exc:
        raise CliError(str(exc)) from exc
    missing = sorted(c.value for c in channels if worker.senders.find(c) is None)
    if missing:
        engine.dispose()
        raise CliError(f"not configured, so nothing to send: {', '.join(missing)}")
    if not sa.inspect(engine).has_table("outbox"):
        # It never migrates (serve does, and two migrations at once could collide).
        engine.dispose()
        raise CliError(f"no Doorstep tables in {engine.url!r}: start `doorstep serve` first")
    if args.wake_stdin:
        # Serve owns this process's life: Ctrl-C in a terminal, or a service manager's
        # SIGTERM, reaches the whole process group, and serve closes our stdin when it stops.
        # Stopping on the signal as well would only look to serve like a crash.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        asyncio.run(_run(worker, wake_stdin=args.wake_stdin))
    finally:
        engine.dispose()
    return 0


async def _run(worker: Any, *, wake_stdin: bool) -> None:
    loop = asyncio.get_running_loop()
    if not wake_stdin:
        loop.add_signal_handler(signal.SIGTERM, worker.stop)
        loop.add_signal_handler(signal.SIGINT, worker.stop)
    else:
        fd = sys.stdin.fileno()
        os.set_blocking(fd, False)

        def readable() -> None:
            try:
                data = os.read(fd, 4096)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if data:
                worker.wake()
            else:
                loop.remove_reader(fd)
                worker.stop()

        loop.add_reader(fd, readable)
    await worker.run()
