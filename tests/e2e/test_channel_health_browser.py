"""The channel-health page and its banner in a real browser (Debian's chromium) at desktop
and phone width: a failing channel warns on the queue page, the page says why, an alert
that could not be sent says so, and axe-core finds no serious or critical violation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.service.alerts import StaffAlerts
from bot.storage import tables_probe as tp
from tests.e2e.test_dashboard_browser import Server, browser, server, sign_in
from tests.support.axe import describe, violations

pytestmark = pytest.mark.e2e
__all__ = ["browser", "server"]  # the fixtures, shared with the dashboard's browser tests


@pytest.mark.parametrize("width", [1280, 375])
def test_channel_health_warns_and_reads_well(server: Server, browser: Any, width: int) -> None:
    server.receive("q1", subject="A question", body="How do I pay my rent?")  # no team address
    server.clock.advance(days=10)
    StaffAlerts(
        server.app.settings, server.app.engine, server.app.clocks, server.clock
    ).send_alerts()
    with server.app.engine.begin() as conn:
        for channel, status, reason in (
            ("webchat", "passed", None),
            ("sms", "failed", "no acknowledgement within 5 minutes: it never reached Doorstep"),
        ):
            conn.execute(
                tp.probes.insert().values(
                    channel=channel, nonce=f"{channel}-{width}", status=status, reason=reason,
                    started_at=server.clock() - timedelta(minutes=10),
                    seconds=2.0 if reason is None else None,
                )
            )  # fmt: skip
    # bypass_csp lets axe be injected: the app's CSP (rightly) refuses inline scripts.
    context = browser.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    page = context.new_page()
    sign_in(page, server, "rita@landlord.example")
    banner = page.locator(".probe-problem")
    assert banner.count() == 1 and "Text messages" in banner.inner_text()
    assert page.locator(".notice-problem").count() == 1
    page.get_by_role("link", name="Channel health").first.click()
    page.wait_for_url(f"{server.url}/staff/health")
    table = page.locator("table.channel-health")
    text = table.inner_text()  # never answered: silent, with the reason of the last try
    assert "Silent" in text and "never reached Doorstep" in text and "Working" in text
    assert "Not sent" in page.locator("table.staff-notices").inner_text()
    found = violations(page)
    assert not found, describe(found)
    # Nothing cut off at phone width: the page does not scroll sideways.
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
    assert not overflow
    context.close()
