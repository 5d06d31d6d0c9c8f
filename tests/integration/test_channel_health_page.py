"""Channel health and staff alerts on the dashboard and /api/status (MONITOR), over HTTP on
real SQLite and PostgreSQL: a channel the probes found failing or silent is a banner on
every staff page, and an alert that could not be sent says so."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.service.alerts import StaffAlerts
from bot.settings import Settings, Team
from bot.storage import tables_probe as tp
from bot.web.api_tokens import add_token
from tests.integration.test_dashboard import MONDAY, open_env

pytestmark = pytest.mark.integration


def _settings() -> Settings:
    return Settings(
        teams=[
            Team(id="customer-services", name="Customer Services team"),  # no address
            Team(id="repairs", name="Repairs team", email="repairs@landlord.example"),
        ],
        routing={"repair": "repairs"},
        secret_key="test-secret-key",
        probe={"secret": "s", "webchat": True, "sms": {"from_number": "+447700900999"}},
    )


def _probe(engine: sa.Engine, channel: str, status: str, reason: str | None, ago: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            tp.probes.insert().values(
                channel=channel,
                nonce=f"{channel}{ago}{status}",
                started_at=MONDAY - timedelta(minutes=ago),
                status=status,
                seconds=4.0 if status != "failed" else None,
                reason=reason,
            )
        )


async def test_health_page_banner_and_status(engine: sa.Engine) -> None:
    async with open_env(engine, _settings()) as env:
        _probe(engine, "webchat", "passed", None, 30)
        _probe(engine, "sms", "passed", None, 90)
        _probe(engine, "sms", "failed", "no acknowledgement within 5 minutes", 30)
        await env.login("rita@landlord.example")
        page = await env.html("/staff/health")
        assert "Web chat" in page and "Working" in page
        assert "Failing" in page and "no acknowledgement within 5 minutes" in page
        queue = await env.html("/staff/")
        assert "Text messages: the last test message failed" in queue
        assert "Web chat:" not in queue  # a working channel is no banner

        # A promise missed in a team without an address: not sent, on the banner too.
        env.receive("q1", subject="A question", body="How do I pay my rent?")
        env.clock.advance(days=10)
        StaffAlerts(env.app.settings, engine, env.app.clocks, env.clock).send_alerts()
        page = await env.html("/staff/health")
        assert "Not sent</strong>: the team has no email address" in page
        queue = await env.html("/staff/")
        assert "Not sent in the last day: " in queue
        assert "to the Customer Services team: the team has no email address" in queue

        with engine.begin() as conn:
            _, token = add_token(conn, name="monitor", scope="read", now=env.clock())
        status = (
            await env.client.get("/api/status", headers={"Authorization": f"Bearer {token}"})
        ).json()
        states = {p["channel"]: p["state"] for p in status["probes"]}
        assert states == {"webchat": "silent", "sms": "silent"}  # ten days since a pass
        assert status["alerts"]["breached"] >= 1
