"""First connection to a mailbox (IMAP or Graph): everything in it is stored for staff, and
none of it whose ACK-2 window (2 working days by default) has passed gets an automatic
acknowledgement; the reason is recorded. Real SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from bot.settings import Settings
from bot.storage import tables as t
from tests.fakes import FakeClock
from tests.integration.helpers import deliver, make_app

pytestmark = pytest.mark.integration

THURSDAY_10 = datetime(2026, 12, 17, 10, 0, tzinfo=UTC)  # before Christmas: no bank holiday


def _reasons(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(t.suppressions.c.reason)).scalars())


@pytest.mark.parametrize(
    ("received", "acknowledged"),
    [
        (datetime(2026, 12, 16, 9, 0, tzinfo=UTC), True),  # Wednesday: inside the window
        (datetime(2026, 12, 15, 9, 0, tzinfo=UTC), True),  # Tuesday: due by Thursday close
        (datetime(2026, 12, 14, 9, 0, tzinfo=UTC), False),  # Monday: due Wednesday, passed
        (datetime(2026, 12, 11, 16, 0, tzinfo=UTC), False),  # last Friday
    ],
)
def test_backlog_older_than_ack2_window_is_stored_not_acknowledged(
    engine: sa.Engine, received: datetime, acknowledged: bool
) -> None:
    app, _ = make_app(engine, FakeClock(THURSDAY_10))
    deliver(app, "old", at=received.isoformat(), subject="Boiler", body="My boiler is broken")
    (outcome,) = app.pipeline.process_pending()
    assert outcome.interaction_id is not None  # stored and routed for staff either way
    with engine.connect() as conn:
        acks = conn.execute(
            sa.select(sa.func.count())
            .select_from(t.outbox)
            .where(t.outbox.c.kind == "acknowledgement")
        ).scalar_one()
    assert acks == (1 if acknowledged else 0)
    if not acknowledged:
        assert any("2-working-day acknowledgement window" in r for r in _reasons(engine))


def test_backlog_window_is_configurable(engine: sa.Engine) -> None:
    settings = Settings(email={"acknowledge_backlog_working_days": 5})
    app, _ = make_app(engine, FakeClock(THURSDAY_10), settings)
    deliver(app, "old", at=datetime(2026, 12, 11, 16, 0, tzinfo=UTC).isoformat(), body="Leak")
    app.pipeline.process_pending()
    assert not _reasons(engine)


async def test_graph_known_ids_over_a_whole_folder(engine: sa.Engine) -> None:
    """A first delta lists every message in the folder; the stored ones are found in
    slices (SQLite limits bound values), on both databases."""
    from bot.domain.model import Channel
    from channels.email.imap import InMemoryCursorStore
    from channels.email.wiring import build_email_intake

    settings = Settings(
        email={
            "mailboxes": [
                {
                    "name": "repairs",
                    "username": "repairs@landlord.example",
                    "intake": "graph",
                    "auth": "oauth2",
                    "provider": "microsoft",
                    "tenant": "contoso",
                    "client_id": "app",
                    "client_secret": "secret",
                }
            ]
        }
    )
    app, _ = make_app(engine, FakeClock(THURSDAY_10), settings)

    async def ignore(*args: object) -> None:
        return None

    intakes = build_email_intake(app, InMemoryCursorStore(), ignore, None, lambda: None)
    assert intakes is not None and intakes.graph is not None and intakes.imap is None
    stored = [f"AAMk{n}" for n in (3, 777, 1999)]
    app.pipeline.store_raw_many(Channel.EMAIL, "graph:repairs", [(i, b"x") for i in stored])
    ids = [f"AAMk{n}" for n in range(2000)]
    assert await intakes.graph.boxes["repairs"].known("repairs", ids) == set(stored)
    assert app.extras["graph_intakes"] == {"repairs": intakes.graph}
