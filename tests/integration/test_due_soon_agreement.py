"""One "due soon" (issue 18) on real SQLite and PostgreSQL: the queue, the case page, the
staff alerts and their dashboard summary, the API's attention list and status, and
`doorstep sla report` say the same thing about the same clocks, under the one setting
`sla.due_soon_fraction` read from a config file.

The clocks carry warning times stored under the old rule (half a working day before every
deadline), as clocks started before the change do: every reader must ignore them and apply
the rule, except for a clock whose policy is no longer configured, which has nothing else."""

from __future__ import annotations

import asyncio
import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bot.cli import main
from bot.service import alerts
from bot.settings import load_settings
from bot.storage import tables as t
from bot.storage.db import create_engine, migrate
from bot.web.api_tokens import add_token
from bot.web.app import create_app
from bot.web.dashboard import queries
from sla import PRESETS
from tests.fakes import FakeClock
from tests.integration.helpers import make_app

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 8, 10, 0, tzinfo=UTC)  # Tuesday 10:00 in London (GMT)


def _close(day: int) -> datetime:
    return datetime(2026, 12, day, 17, 0, tzinfo=UTC)


# With sla.due_soon_fraction 0.25: respond-10 is due soon for its last 20 office hours,
# complaint-stage2-response for its last 40, awaab-emergency for its last 6 clock hours.
# From Tuesday 10:00 there are 15 office hours to Wednesday's close, 23 to Thursday's, 31
# to Friday's, 39 to Monday's and 47 to next Tuesday's.
CLOCKS: list[tuple[str, datetime, str | None, dict[str, Any]]] = [
    ("respond-10", _close(9), "due_soon", {}),  # the old rule: not before Wed 13:00
    ("respond-10", _close(11), None, {}),
    ("complaint-stage2-response", _close(14), "due_soon", {}),  # 4 working days out
    ("complaint-stage2-response", _close(15), None, {}),
    ("awaab-emergency", NOW + timedelta(hours=5), "due_soon", {}),
    ("awaab-emergency", NOW + timedelta(hours=7), None, {}),
    ("ack-2", NOW - timedelta(hours=1), "breached", {}),
    ("respond-10", _close(9), None, {"paused_at": NOW - timedelta(days=1)}),  # waiting
    # A policy no longer configured: its stored warning time is all there is.
    ("retired-7", NOW + timedelta(days=2), "due_soon", {"warn_at": NOW - timedelta(hours=1)}),
    ("retired-7", NOW + timedelta(days=3), None, {"warn_at": NOW + timedelta(days=2)}),
]
EXPECTED = {n + 1: state for n, (_, _, state, _) in enumerate(CLOCKS) if state is not None}


def _fill(engine: sa.Engine) -> None:
    interactions, clocks = [], []
    for n, (policy, due, _, extra) in enumerate(CLOCKS, start=1):
        interactions.append(
            {
                "id": n,
                "reference": f"DS-2026-{n:06d}",
                "contact_id": 1,
                "channel": "email",
                "topic": "repair",
                "urgency": "routine",
                "team": "repairs",
                "status": "open",
            }
        )
        preset = PRESETS.get(policy)
        clocks.append(
            {
                "interaction_id": n,
                "policy": policy,
                "promise": preset.promise if preset else "LEGACY",
                "channel": "email",
                "topic": "repair",
                "started_at": NOW - timedelta(days=20),
                "due_at": due,
                "warn_at": extra.get("warn_at", due - timedelta(hours=4)),  # the old rule
                "paused_at": extra.get("paused_at"),
                "paused_seconds": 0.0,
                "extended_days": 0,
                "stopped_at": None,
                "outcome": None,
                "is_open": True,
            }
        )
    with engine.begin() as conn:
        conn.execute(t.contacts.insert(), [{"id": 1, "name": "Resident", "needs": []}])
        conn.execute(t.interactions.insert(), interactions)
        conn.execute(t.clocks.insert(), clocks)


@pytest.fixture
def config(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.upper().startswith(("DOORSTEP_SLA", "DOORSTEP_ALERTS", "DOORSTEP_DASHBOARD")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DOORSTEP_DATABASE_URL", database_url)
    path = tmp_path / "config.yml"
    path.write_text("doorstep:\n  sla:\n    due_soon_fraction: 0.25\n", encoding="utf-8")
    return path


def test_every_reader_says_the_same_about_the_same_clocks(
    config: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings(config)
    assert settings.sla.due_soon_fraction == 0.25
    engine = create_engine(database_url)
    migrate(engine)
    _fill(engine)
    app, _ = make_app(engine, FakeClock(NOW), settings, turn_handlers={})
    try:
        fraction = settings.sla.due_soon_fraction
        promises = queries.promises_of(app)
        with engine.connect() as conn:
            # The queue: every row's state, and its two counts.
            page = queries.queue_page(
                conn, queries.Scope(view="all"), now=NOW, limit=50, promises=promises
            )
            rows = {r.interaction_id: r.state for r in [*page.pressing, *page.rows]}
            assert {k: v for k, v in rows.items() if v in ("due_soon", "breached")} == EXPECTED
            assert rows[8] == "paused"
            assert (page.due_soon, page.breached) == (4, 1)
            # The case page, clock by clock.
            stored = conn.execute(sa.select(t.clocks).order_by(t.clocks.c.id)).all()
            case = {
                r.interaction_id: queries.case_clock(
                    promises,
                    policy=r.policy,
                    due_at=r.due_at,
                    warn_at=r.warn_at,
                    paused_at=r.paused_at,
                    stopped_at=r.stopped_at,
                    now=NOW,
                )[0]
                for r in stored
            }
            assert {k: v for k, v in case.items() if v in ("due_soon", "breached")} == EXPECTED
            # The staff alerts and the channel-health page's summary.
            found = alerts.needing_attention(conn, app.clocks, NOW, fraction)
            assert {a.interaction_id: a.state for a in found} == EXPECTED
            assert alerts.summary(conn, app.clocks, settings, NOW) == {
                "due_soon": 4,
                "breached": 1,
            }
        with engine.begin() as conn:
            _, secret = add_token(conn, name="agreement", scope="read", now=NOW)

        async def api() -> tuple[list[dict[str, Any]], dict[str, Any], dict[int, str]]:
            transport = httpx.ASGITransport(app=create_app(app, run_workers=False))
            headers = {"Authorization": f"Bearer {secret}"}
            async with httpx.AsyncClient(
                transport=transport, base_url="http://t", headers=headers
            ) as client:
                attention = await client.get("/api/clocks/attention")
                status = await client.get("/api/status")
                each = {}
                for n in range(1, len(CLOCKS) + 1):  # one case at a time
                    case = await client.get(f"/api/interactions/DS-2026-{n:06d}")
                    assert case.status_code == 200
                    each[n] = case.json()["clocks"][0]["state"]
            assert attention.status_code == 200 and status.status_code == 200
            return attention.json(), status.json(), each

        attention, status, each = asyncio.run(api())
        assert {k: v for k, v in each.items() if v in ("due_soon", "breached")} == EXPECTED
        assert each[8] == "paused" and each[2] == "running"
        assert {item["interaction_id"]: item["state"] for item in attention} == EXPECTED
        assert status["clocks"] == {"breached": 1, "due_soon": 4}
        assert status["alerts"] == {"due_soon": 4, "breached": 1}
    finally:
        engine.dispose()

    # `doorstep sla report`, in its own process's way: settings and database from the config.
    argv = ["--config", str(config), "sla", "report", "--from", "2026-12-01", "--to", "2027-01-01"]
    assert main([*argv, "--at", NOW.isoformat()]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("Open now"))
    assert re.search(r": 4 due soon, 1 missed \(due soon: the last 25% of each promise", line), line


def test_a_new_clock_stores_the_warning_time_of_the_rule(config: Path, database_url: str) -> None:
    """A clock started through the real pipeline stores the rule's warning time, so code
    that reads the stored time (Clock.state) agrees with code that computes it."""
    from sla.due_soon import due_soon_from
    from tests.integration.helpers import deliver

    settings = load_settings(config)
    engine = create_engine(database_url)
    migrate(engine)
    app, _ = make_app(engine, FakeClock(NOW), settings, turn_handlers={})
    try:
        deliver(app, "q1", subject="A question", body="How do I pay my rent?", at=NOW.isoformat())
        app.pipeline.process_pending()
        with engine.connect() as conn:
            stored = conn.execute(sa.select(t.clocks)).all()
        assert stored
        for r in stored:
            policy = app.clocks.policies[r.policy]
            assert policy.due_soon_fraction == 0.25
            expected = due_soon_from(policy, r.due_at, r.started_at, 0.25, app.clocks.calendar)
            assert r.warn_at == expected
    finally:
        engine.dispose()
