"""`doorstep serve`: the web app and every worker in one process."""

from __future__ import annotations

import argparse
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
    # The file serve really read (also when found by DOORSTEP_CONFIG or the project folder).
    config_file = app.settings.config_file or args.config
    config = ["--config", str(config_file)] if config_file else []
    command = [sys.executable, "-m", "bot", *config, "outbox", "--channel", "email"]
    command += ["--wake-stdin", "--log-level", args.log_level]
    return [command] * app.settings.outbox.email_processes


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.bootstrap import bootstrap
    from bot.cli.common import settings_from
    from bot.cli.startup import banner, configure_logging
    from bot.memory import limit_arenas
    from bot.web.app import create_app
    from bot.web.limits import uvicorn_options

    limit_arenas()  # before any thread: memory stays flat over a long run (bot/memory.py)
    configure_logging(args.log_level)
    settings = settings_from(args)
    _check_can_listen(args.host, args.port)  # before the model loads, not after
    app = bootstrap(settings)
    try:
        api = create_app(app, email_senders=_email_senders(args, app))
        shown = banner(app, args.host, args.port)
        config = uvicorn.Config(
            api,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            # A connection whose handler never ends must not keep serve from stopping (seen
            # once after thousands of chats): after this, uvicorn cancels it.
            timeout_graceful_shutdown=10,
            **uvicorn_options(settings),
        )
        server = _announcing_server(config, shown.text())
        server.run()
        if not server.started:
            # uvicorn has said why (the port is taken, most often) in its own log line.
            print(f"doorstep: error: could not listen on {args.host}:{args.port}", file=sys.stderr)
            return 1
    finally:
        app.close()
    return 0


def _check_can_listen(host: str, port: int) -> None:
    """A port already taken (another serve still running, most often) stops start-up at
    once with one sentence, rather than after the classifier has loaded."""
    import socket

    from bot.cli import CliError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise CliError(f"--host {host}: not an address we can listen on ({exc})") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise CliError(
                f"cannot listen on {host}:{port} (--host/--port): {exc.strerror or exc}"
            ) from exc


def _announcing_server(config: Any, text: str) -> Any:
    """uvicorn's server, printing the addresses once it really listens (not before: a port
    already in use must not be announced as ready)."""
    import uvicorn

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                print(text, file=sys.stderr, flush=True)

    return Server(config)
