"""`doorstep user add` and `doorstep user list`: staff accounts for the dashboard.

The first admin is made here; admins add everyone else in the dashboard. The password is
never an argument (it would sit in the shell history and the process list): it is asked
for twice at a prompt, or read from standard input with --password-stdin.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from typing import Any

from bot.cli import CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("user", help="staff accounts for the dashboard")
    sub = parser.add_subparsers(dest="user_command", required=True)

    add = sub.add_parser("add", help="create a staff account")
    add.add_argument("email")
    add.add_argument("--name", required=True)
    add.add_argument(
        "--role",
        required=True,
        choices=("agent", "team_lead", "complaints_handler", "admin"),
    )
    add.add_argument("--team", default=None, help="team id (required for agents)")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of prompting",
    )
    add.set_defaults(handler=_add)

    listing = sub.add_parser("list", help="list staff accounts")
    listing.set_defaults(handler=_list)


def _engine(args: argparse.Namespace) -> Any:
    from bot.cli.common import settings_from
    from bot.storage.db import create_engine, migrate

    settings = settings_from(args)
    engine = create_engine(settings.database_url)
    migrate(engine)
    return settings, engine


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise CliError("no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise CliError("the passwords do not match")
    return first


def _add(args: argparse.Namespace) -> int:
    from bot.web.dashboard.auth import UserError, create_user

    settings, engine = _engine(args)
    try:
        if args.team is not None and args.team not in {t.id for t in settings.teams}:
            known = ", ".join(sorted(t.id for t in settings.teams))
            raise CliError(f"unknown team {args.team!r}; teams are {known}")
        password = _read_password(args.password_stdin)
        try:
            with engine.begin() as conn:
                user = create_user(
                    conn,
                    email=args.email,
                    name=args.name,
                    role=args.role,
                    team=args.team,
                    password=password,
                    now=datetime.now(UTC),
                )
        except UserError as exc:
            raise CliError(str(exc)) from exc
    finally:
        engine.dispose()
    print(f"added {user.email} ({user.role}{', ' + user.team if user.team else ''})")
    return 0


def _list(args: argparse.Namespace) -> int:
    from bot.web.dashboard.auth import list_users

    _, engine = _engine(args)
    try:
        with engine.connect() as conn:
            users = list_users(conn)
    finally:
        engine.dispose()
    if not users:
        from bot.cli.startup import doorstep_command

        print(f"no users yet: {doorstep_command()} user add EMAIL --name NAME --role admin")
        return 0
    for u in users:
        state = "" if u.active else "  (switched off)"
        print(f"{u.email}\t{u.name}\t{u.role}\t{u.team or '-'}{state}")
    return 0
