"""`doorstep serve`: the web app and every worker in one process."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="run the web app and workers")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    parser.set_defaults(handler=_serve)


def _email_senders(args: argparse.Namespace, app: Any) -> list[list[str]]:
    """Commands for the processes that send email beside this one (`outbox.email_processes`),
    with this process's configuration file, environment and log level."""
    from bot.domain.model import Channel
    from bot.storage.db import sqlite_in_memory

    if Channel.EMAIL not in app.senders or sqlite_in_memory(app.engine.url):
        return []
    config = ["--config", str(args.config)] if args.config else []
    command = [sys.executable, "-m", "bot", *config, "outbox", "--channel", "email"]
    command += ["--wake-stdin", "--log-level", args.log_level]
    return [command] * app.settings.outbox.email_processes


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.bootstrap import bootstrap
    from bot.cli.common import settings_from
    from bot.web.app import create_app

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = settings_from(args)
    app = bootstrap(settings)
    api = create_app(app, email_senders=_email_senders(args, app))
    # A connection whose handler never ends must not keep serve from stopping (seen once
    # after thousands of chats): after this, uvicorn cancels it and the workers stop.
    uvicorn.run(
        api,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=10,
    )
    app.close()
    return 0
