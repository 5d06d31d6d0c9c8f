"""Building an App on a real database with fakes at the edges."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bot.bootstrap import App, bootstrap
from bot.domain.model import Channel, InboundMessage
from bot.settings import Settings
from channels.base import CollectingSender, DecodedInbound, InvalidPayloadError
from tests.fakes import FakeClock, KeywordClassifier


def json_decoder(raw: bytes, source: str) -> DecodedInbound:
    """A test decoder: the raw payload is JSON with the InboundMessage fields."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidPayloadError(f"not JSON: {exc}") from exc
    if "explode" in data:
        raise RuntimeError("decoder bug")
    return DecodedInbound(
        message=InboundMessage(
            channel=Channel(data.get("channel", "email")),
            external_id=data["id"],
            sender=data["from"],
            received_at=datetime.fromisoformat(data["at"]),
            body=data.get("body", ""),
            subject=data.get("subject"),
            sender_name=data.get("name"),
            recipient=data.get("to"),
            thread_refs=tuple(data.get("refs", ())),
        ),
        no_reply_reason=data.get("no_reply"),
        failed_recipients=tuple(data.get("failed", ())),
    )


def make_app(
    engine: sa.Engine, clock: FakeClock, settings: Settings | None = None, **kw: Any
) -> tuple[App, CollectingSender]:
    sender = CollectingSender(Channel.EMAIL)
    decoders = kw.pop("decoders", None) or {c: json_decoder for c in Channel}
    app = bootstrap(
        settings or Settings(),
        engine=engine,
        classifier=KeywordClassifier(),
        senders=[sender, CollectingSender(Channel.SMS), CollectingSender(Channel.WEBCHAT)],
        decoders=decoders,
        now=clock,
        run_migrations=False,
        **kw,
    )
    return app, sender


def deliver(app: App, key: str, **fields: Any) -> int | None:
    fields.setdefault("at", datetime(2026, 12, 21, 10, 0, tzinfo=UTC).isoformat())
    fields.setdefault("from", "resident@example.net")
    fields.setdefault("id", f"<{key}@example.net>")
    channel = Channel(fields.get("channel", "email"))
    return app.pipeline.store_raw(channel, "test", key, json.dumps(fields).encode())
