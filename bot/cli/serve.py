"""`doorstep serve`: the web app and every worker in one process."""

from __future__ import annotations

import argparse
import logging
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="run the web app and workers")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--log-level", default="info")
    parser.set_defaults(handler=_serve)


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
    api = create_app(app)
    uvicorn.run(api, host=args.host, port=args.port, log_level=args.log_level)
    app.close()
    return 0
