"""`doorstep email inspect FILE...`: what Doorstep would do with each .eml file.

It runs the real pipeline on a throw-away in-memory database with a collecting sender, so
the answer is exactly what the server would do, and nothing is ever sent. Each file is
judged on its own, as if it were the first mail from its sender: a fresh database per file,
so no state (sender and thread caps, an earlier acknowledgement, a thread) is carried from
one file to the next.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("email", help="email tools")
    sub = parser.add_subparsers(dest="email_command", required=True)
    inspect = sub.add_parser("inspect", help="show, for each .eml file, whether we would reply")
    inspect.add_argument("files", nargs="+", type=Path)
    inspect.set_defaults(handler=_inspect)
    from bot.cli.email_check import register_check

    register_check(sub)  # `doorstep email check`


def _inspect(args: argparse.Namespace) -> int:
    from sqlalchemy.pool import StaticPool

    from bot.bootstrap import bootstrap, default_classifier
    from bot.cli.common import settings_from
    from bot.domain.model import Channel
    from bot.storage.db import create_engine
    from channels.base import CollectingSender

    settings = settings_from(args)
    # Each file is judged as if it arrived now, however old its Date header.
    settings.email.acknowledge_max_age_days = 0
    classifier = default_classifier(settings)  # loaded once, shared by every file
    status = 0
    for index, path in enumerate(args.files):
        line: dict[str, Any] = {"file": str(path)}
        try:
            raw = path.read_bytes()
        except OSError as exc:
            line.update(error=f"cannot read file: {exc.strerror or exc}", would_acknowledge=False)
            print(json.dumps(line), flush=True)
            status = 1
            continue
        engine = create_engine("sqlite://", poolclass=StaticPool)
        app = bootstrap(
            settings,
            engine=engine,
            classifier=classifier,
            senders=[CollectingSender(Channel.EMAIL)],
        )
        try:
            line.update(_judge(app, index, path, raw))
        finally:
            app.close()
        if line.get("error"):
            status = 1
        print(json.dumps(line, ensure_ascii=False), flush=True)
    sys.stdout.flush()
    return status


def _judge(app: Any, index: int, path: Path, raw: bytes) -> dict[str, Any]:
    """What the pipeline does with one mail, on a database that has seen nothing else."""
    import sqlalchemy as sa

    from bot.domain.model import Channel
    from bot.storage import tables as t

    line: dict[str, Any] = {}
    inbound_id = app.pipeline.store_raw(Channel.EMAIL, "inspect", f"{index}:{path}", raw)
    assert inbound_id is not None
    outcome = app.pipeline.process_one(_stored(app, inbound_id))
    with app.engine.connect() as conn:
        ack = conn.execute(
            sa.select(t.outbox.c.subject, t.outbox.c.body, t.outbox.c.recipient)
            .where(t.outbox.c.kind.in_(("acknowledgement", "ooo")))
            .where(t.outbox.c.interaction_id == outcome.interaction_id)
        ).first()
        inter = None
        if outcome.interaction_id is not None:
            inter = conn.execute(
                sa.select(t.interactions.c.topic, t.interactions.c.urgency).where(
                    t.interactions.c.id == outcome.interaction_id
                )
            ).first()
    if outcome.status == "quarantined":
        line["error"] = f"not an email we can read: {outcome.reason}"
    line.update(
        would_acknowledge=ack is not None,
        reason=None if ack is not None else (outcome.reason or outcome.status),
        topic=inter.topic if inter else None,
        urgency=inter.urgency if inter else None,
        acknowledgement=(
            {"to": ack.recipient, "subject": ack.subject, "body": ack.body} if ack else None
        ),
    )
    return line


def _stored(app: Any, inbound_id: int) -> Any:
    from bot.storage.repository import UnitOfWork

    with UnitOfWork(app.engine, app.now) as uow:
        return uow.get_inbound(inbound_id)
