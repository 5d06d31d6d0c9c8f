"""Shared helpers for browser tests: the real app under uvicorn on a loopback port, Debian's
chromium driven by Playwright (headless), screenshots, and clock times that are inside or
outside office hours.

    with running_app(settings, database=tmp_path / "d.db", clock=clock) as server:
        with browser() as chrome:
            page = chrome.new_page(viewport={"width": 360, "height": 740})
            page.goto(server.url + "/")
            screenshot(page, "chat-start")

`running_app` builds the App with `bootstrap(...)` (the same wiring as `doorstep serve`), the
keyword classifier and the given clock; the workers (inbound processor, outbox) run inside
the server. Stopping and starting it again on the same `port` and `database` is how a test
drops every connection and brings the service back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import uvicorn

from bot.bootstrap import App, bootstrap, build_calendar
from bot.domain.model import Channel
from bot.settings import Settings
from bot.storage.db import create_engine
from bot.web.app import create_app
from channels import registry
from channels.base import CollectingSender, Sender, TurnHandler
from tests.conftest import REPO
from tests.fakes import FakeClock, KeywordClassifier
from tests.support.net import free_port, wait_for_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
)
SHOTS = REPO / "test-artifacts" / "screenshots"
LONDON = ZoneInfo("Europe/London")


# ---- clock times -----------------------------------------------------------------------------


def future_time(
    settings: Settings, *, office_open: bool, weekday: int = 1, hour: int = 10
) -> datetime:
    """A moment at least two weeks ahead (the outbox compares the app clock with real time,
    so a fixed clock must not be in the past), on `weekday` at `hour` London time, that the
    landlord's calendar says is open (or closed) — skipping bank holidays and closures."""
    calendar = build_calendar(settings)
    day = datetime.now(UTC).astimezone(LONDON).date() + timedelta(days=14)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    for _ in range(60):
        moment = datetime.combine(day, time(hour, 0), tzinfo=LONDON).astimezone(UTC)
        if bool(calendar.is_open(moment)) is office_open:
            return moment
        day += timedelta(days=7)
    raise AssertionError("no suitable time found in the calendar")


def office_hours_clock(settings: Settings) -> FakeClock:
    """A Tuesday, 10am London time, when the office is open."""
    return FakeClock(future_time(settings, office_open=True, weekday=1, hour=10))


def closed_clock(settings: Settings) -> FakeClock:
    """A Saturday, 11am London time, when the office is closed."""
    return FakeClock(future_time(settings, office_open=False, weekday=5, hour=11))


# ---- the app under uvicorn ---------------------------------------------------------------------


@dataclass
class RunningApp:
    url: str
    port: int
    app: App
    clock: FakeClock
    database: Path

    @property
    def ws_url(self) -> str:
        return "ws" + self.url.removeprefix("http") + "/ws/chat"


def default_senders(settings: Settings) -> list[Sender]:
    """The channels' real senders where they need no network (the web chat's), and a
    collecting fake for every channel that has none configured."""
    found = registry.senders(settings)
    have = {s.channel for s in found}
    return found + [CollectingSender(c) for c in Channel if c not in have]


@contextmanager
def running_app(
    settings: Settings,
    *,
    database: Path,
    clock: FakeClock | None = None,
    port: int | None = None,
    senders: Sequence[Sender] | None = None,
    turn_handlers: Mapping[Channel, TurnHandler] | None = None,
    classifier: Any = None,
) -> Iterator[RunningApp]:
    """The real app (`create_app`, workers included) on 127.0.0.1:`port` over a SQLite file."""
    clock = clock or office_hours_clock(settings)
    engine = create_engine(f"sqlite:///{database}")
    app = bootstrap(
        settings,
        engine=engine,
        classifier=classifier or KeywordClassifier(),
        senders=list(senders) if senders is not None else default_senders(settings),
        turn_handlers=turn_handlers,
        now=clock,
    )
    port = port or free_port()
    config = uvicorn.Config(
        create_app(app), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        if not wait_for_port("127.0.0.1", port, timeout=20):
            raise AssertionError(f"the app did not start on port {port}")
        yield RunningApp(f"http://127.0.0.1:{port}", port, app, clock, database)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        app.close()


# ---- the browser -----------------------------------------------------------------------------


@contextmanager
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, with a fresh profile (Playwright gives each launch a new
    temporary user-data dir). Yields a playwright Browser."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chrome = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield chrome
        finally:
            chrome.close()


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    """Keep a screenshot as a test artifact (test-artifacts/screenshots, git-ignored)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
