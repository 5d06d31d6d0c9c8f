"""The public "How we are doing" page in a real browser (Debian's chromium) at desktop and
phone width: axe-core finds no serious or critical violation, and the figures on the page
are the ones the JSON export gives, computed from clocks that include closed cases whose
promises were not met."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from bot.settings import Settings
from bot.storage import tables as t
from bot.storage.db import create_engine, migrate
from tests.support.axe import describe, violations
from tests.support.browser import browser, running_app, screenshot

pytestmark = pytest.mark.e2e


def _seed(database: Path, now: datetime) -> None:
    """Last month: 3 acknowledgements met, 1 missed; a closed emergency case not made safe."""
    engine = create_engine(f"sqlite:///{database}")
    migrate(engine)
    month = (now.replace(day=1) - timedelta(days=20)).replace(hour=12)
    with engine.begin() as conn:
        contact = conn.execute(t.contacts.insert().values(name="R", needs=[])).inserted_primary_key[
            0
        ]
        for n, (policy, outcome) in enumerate(
            [
                ("ack-2", "met"),
                ("ack-2", "met"),
                ("email-ack-now", "met"),
                ("ack-2", "not_met"),
                ("awaab-emergency", "not_met"),
            ]
        ):
            case = conn.execute(
                t.interactions.insert().values(
                    reference=f"DS-PUB-{n}",
                    contact_id=contact,
                    channel="email",
                    topic="repair",
                    urgency="routine",
                    team="repairs",
                    status="closed",
                    created_at=month,
                    updated_at=month,
                )
            ).inserted_primary_key[0]
            due = month + timedelta(days=2)
            conn.execute(
                t.clocks.insert().values(
                    interaction_id=case,
                    policy=policy,
                    promise="X",
                    channel="email",
                    topic="repair",
                    started_at=month,
                    due_at=due,
                    warn_at=due,
                    stopped_at=month + timedelta(days=1),
                    outcome=outcome,
                    is_open=False,
                    paused_seconds=0.0,
                    extended_days=0,
                )
            )
    engine.dispose()


def test_public_page_is_accessible_and_matches_its_data(tmp_path: Path) -> None:
    settings = Settings(performance={"public_page": True, "homes": 1500})
    database = tmp_path / "d.db"
    now = datetime.now(UTC)
    _seed(database, now)
    with running_app(settings, database=database) as server, browser() as chrome:
        data = httpx.get(server.url + "/performance.json", timeout=30).json()
        ack = next(f for f in data["figures"] if f["id"] == "ack")
        assert (ack["met"], ack["missed"]) == (3, 1)
        awaab = next(f for f in data["figures"] if f["id"] == "awaab")
        assert (awaab["met"], awaab["missed"]) == (0, 1)  # closing did not count it as met
        assert "reference" not in str(data) and "DS-PUB" not in str(data)  # no case data
        for width, height, name in ((1280, 900, "desktop"), (360, 740, "phone")):
            page = chrome.new_page(viewport={"width": width, "height": height})
            page.goto(server.url + "/performance")
            assert page.get_by_role("heading", name="How we are doing").is_visible()
            tile = page.locator(".tiles li").first.inner_text()
            assert "75%" in tile and "3 kept, 1 missed" in tile
            assert page.locator("svg[role=img] title").count() >= 1  # a named chart
            found = violations(page)
            assert not found, describe(found)
            screenshot(page, f"performance-public-{name}", full_page=True)
            page.close()


def test_public_page_is_off_unless_configured(tmp_path: Path) -> None:
    with running_app(Settings(), database=tmp_path / "d.db") as server:
        assert httpx.get(server.url + "/performance", timeout=30).status_code == 404
