"""`doorstep rasa setup|train|status`: thin wrappers around scripts/rasa-setup and Rasa's API.

Rasa runs as its own service in its own Python 3.10 environment (see docs/rasa.md); these
commands only start the setup script or ask the running server how it is.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Any

from bot.cli import CliError

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "rasa-setup"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("rasa", help="Rasa as the conversational engine")
    sub = parser.add_subparsers(dest="rasa_command", required=True)
    setup = sub.add_parser("setup", help="create Rasa's environment (Python 3.10) and train")
    setup.add_argument("--no-train", action="store_true")
    setup.set_defaults(handler=_setup)
    train = sub.add_parser("train", help="train the assistant (even when a model exists)")
    train.set_defaults(handler=_train)
    status = sub.add_parser("status", help="is the configured Rasa server answering?")
    status.set_defaults(handler=_status)


def _run_script(*args: str) -> int:
    if not SCRIPT.exists():
        raise CliError(f"{SCRIPT} is missing")
    return subprocess.call([str(SCRIPT), *args], cwd=SCRIPT.parents[1])


def _setup(args: argparse.Namespace) -> int:
    return _run_script(*(["--no-train"] if args.no_train else []))


def _train(args: argparse.Namespace) -> int:
    return _run_script("--force")


def _status(args: argparse.Namespace) -> int:
    import httpx

    from bot.cli.common import settings_from

    settings = settings_from(args)
    url = settings.rasa.url or settings.nlu.rasa_url
    if not url:
        raise CliError(
            "Rasa is not configured: set DOORSTEP_RASA__URL (e.g. http://127.0.0.1:5005)"
        )
    try:
        response = httpx.get(url.rstrip("/") + "/status", timeout=settings.rasa.timeout_seconds)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        print(f"Rasa at {url} is not answering: {exc}", file=sys.stderr)
        return 1
    print(f"Rasa at {url}: model {data.get('model_file') or data.get('fingerprint') or '?'}")
    return 0
