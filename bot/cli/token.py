"""`doorstep token add/list/revoke`: tokens for the JSON API (bot/web/api_auth.py).

Each system gets its own named token with one scope: `appointments` for the repairs system,
`assistant` for the Rasa actions, `read` for monitoring. The token is printed once, on
standard output alone (so a script can capture it), and stored only as a hash: a lost token
is revoked and replaced, never recovered.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from bot.cli import CliError


def register(subparsers: Any) -> None:
    from bot.storage.tables_staff import API_SCOPES

    parser = subparsers.add_parser("token", help="API tokens (named, scoped, revocable)")
    sub = parser.add_subparsers(dest="token_command", required=True)

    add = sub.add_parser("add", help="make a token and print it once")
    add.add_argument("name", help="who uses it, e.g. repairs-system or rasa-actions")
    add.add_argument("--scope", required=True, choices=API_SCOPES)
    add.add_argument(
        "--replace",
        action="store_true",
        help="revoke live tokens of the same name first (rotation)",
    )
    add.set_defaults(handler=_add)

    listing = sub.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--all", action="store_true", help="include revoked tokens")
    listing.set_defaults(handler=_list)

    revoke = sub.add_parser("revoke", help="revoke a token by name; it stops working at once")
    revoke.add_argument("name")
    revoke.set_defaults(handler=_revoke)


def _engine(args: argparse.Namespace) -> Any:
    from bot.cli.common import settings_from
    from bot.storage.db import create_engine, migrate

    settings = settings_from(args)
    engine = create_engine(settings.database_url)
    migrate(engine)
    return engine


def _add(args: argparse.Namespace) -> int:
    from bot.web.api_tokens import TokenError, add_token

    engine = _engine(args)
    try:
        with engine.begin() as conn:
            _, secret = add_token(
                conn,
                name=args.name,
                scope=args.scope,
                now=datetime.now(UTC),
                replace=args.replace,
            )
    except TokenError as exc:
        raise CliError(str(exc)) from exc
    finally:
        engine.dispose()
    print(secret)
    return 0


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _list(args: argparse.Namespace) -> int:
    from bot.web.api_tokens import list_tokens

    engine = _engine(args)
    try:
        with engine.connect() as conn:
            tokens = list_tokens(conn, include_revoked=args.all)
    finally:
        engine.dispose()
    if not tokens:
        print("no tokens yet: doorstep token add NAME --scope appointments|assistant|read")
        return 0
    print("name\tscope\tcreated\tlast used\trevoked")
    for tok in tokens:
        print(
            f"{tok.name}\t{tok.scope}\t{_when(tok.created_at)}\t{_when(tok.last_used_at)}"
            f"\t{_when(tok.revoked_at)}"
        )
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from bot.web.api_tokens import TokenError, revoke_token

    engine = _engine(args)
    try:
        with engine.begin() as conn:
            count = revoke_token(conn, args.name, now=datetime.now(UTC))
    except TokenError as exc:
        raise CliError(str(exc)) from exc
    finally:
        engine.dispose()
    print(f"revoked {count} token{'s' if count != 1 else ''} named {args.name}")
    return 0
