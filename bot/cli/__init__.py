"""The `doorstep` command. Each area registers its own sub-commands in a module of this package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from bot.errors import DoorstepError, exit_code

# Modules that define `register(subparsers)`; imported lazily so `doorstep --help` stays fast.
_COMMAND_MODULES = (
    "serve",
    "outbox",
    "sla",
    "nlu",
    "email",
    "user",
    "token",
    "appointments",
    "rasa",
    "sar",
    "retention",
    "case",
    "doctor",
    "probe",
)


class CliError(Exception):
    """A one-line usage error: printed as `doorstep: error: ...` with exit status 2."""


# The settings the running command loaded, so a start-up failure can name what it used
# (the database URL, without its password).
_loaded: dict[str, object] = {}


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="doorstep", description=__doc__)
    parser.add_argument("--config", default=None, help="path to config.yml (default: ./config.yml)")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f"bot.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bot.cli.{name}":
                continue  # that area is not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from bot.privacy import logs

    logs.install()  # PRIVACY: no email address or phone number in any log line
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except CliError as exc:
        print(f"doorstep: error: {exc}", file=sys.stderr)
        return 2
    except DoorstepError as exc:  # mapped once: bot.errors.exit_code
        print(f"doorstep: error: {exc}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from bot.cli.errors import explain

        message = explain(exc, _loaded.get("settings"))
        if message is None:
            raise
        print(f"doorstep: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
