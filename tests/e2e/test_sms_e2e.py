"""SMS end to end: the Doorstep web app under a real uvicorn server with its workers, the
real Twilio SDK talking to a local fake of Twilio's REST API, and signed webhooks posted
over HTTP as Twilio would. Waits are readiness waits (for a text to arrive), never timed
assertions."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from bot.bootstrap import App, bootstrap
from bot.storage import tables as t
from bot.storage.tables_sms import appointments
from bot.web.app import create_app
from tests.conftest import make_sqlite_engine
from tests.fakes import KeywordClassifier
from tests.support.fake_twilio import (
    ACCOUNT_SID,
    API_TOKEN,
    AUTH_TOKEN,
    FakeTwilio,
    inbound_form,
    running_fake_twilio,
    signed_form,
    sms_settings,
)
from tests.support.net import free_port, wait_for_port

pytestmark = pytest.mark.e2e

RESIDENT = "+447700900123"


def wait_until(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    return check()


@dataclass
class Stack:
    url: str
    app: App
    fake: FakeTwilio
    http: httpx.Client

    def text(self, body: str, sid: str, *, signature: str | None = None) -> httpx.Response:
        form = inbound_form(body, sid=sid, sender=RESIDENT)
        content, headers = signed_form(AUTH_TOKEN, f"{self.url}/webhooks/twilio/sms", form)
        if signature is not None:
            headers["X-Twilio-Signature"] = signature
        return self.http.post("/webhooks/twilio/sms", content=content, headers=headers)

    def rows(self, table: sa.Table) -> list[Any]:
        with self.app.engine.connect() as conn:
            return list(conn.execute(sa.select(table).order_by(table.c.id)).all())


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    import uvicorn

    with running_fake_twilio(ACCOUNT_SID, AUTH_TOKEN) as fake:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        settings = sms_settings(
            fake.url,
            public_url=url,
            # Quiet hours off: this test runs on the real clock at any hour.
            sms={"quiet_start": "00:00", "quiet_end": "00:00", "reminder_poll_seconds": 0.2},
        )
        engine = make_sqlite_engine(tmp_path)
        app = bootstrap(
            settings, engine=engine, classifier=KeywordClassifier(), run_migrations=False
        )
        api = create_app(app, run_workers=True)
        config = uvicorn.Config(api, host="127.0.0.1", port=port, log_level="warning")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="doorstep-e2e", daemon=True)
        thread.start()
        assert wait_for_port("127.0.0.1", port, timeout=30)
        with httpx.Client(base_url=url, timeout=10) as http:
            try:
                yield Stack(url, app, fake, http)
            finally:
                server.should_exit = True
                thread.join(timeout=10)
                app.close()


def test_a_text_is_acknowledged_through_twilio_and_delivery_is_tracked(stack: Stack) -> None:
    response = stack.text("My boiler is broken", "SM" + "1" * 32)
    assert response.status_code == 200 and "<Response>" in response.text
    (ack,) = stack.fake.wait_for(1)
    assert ack.to == RESIDENT and "Ref DS-" in ack.body
    assert ack.form["StatusCallback"] == f"{stack.url}/webhooks/twilio/status"
    assert stack.fake.deliver(ack.sid, "delivered") == 204
    row = wait_until(
        lambda: next((r for r in stack.rows(t.outbox) if r.provider_status == "delivered"), None)
    )
    assert row is not None and row.provider_id == ack.sid


def test_forged_and_duplicate_webhooks(stack: Stack) -> None:
    forged = stack.text("STOP", "SM" + "2" * 32, signature="0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
    assert forged.status_code == 403
    assert stack.rows(t.inbound_messages) == [] and stack.rows(t.address_holds) == []
    for _ in range(3):
        assert stack.text("There is a leak", "SM" + "3" * 32).status_code == 200
    stack.fake.wait_for(1)
    assert len(stack.rows(t.inbound_messages)) == 1
    assert len(stack.fake.messages) == 1


def test_appointment_text_reply_and_opt_out(stack: Stack) -> None:
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    job = {
        "job_ref": "E-1",
        "phone": "07700 900123",
        "address": "4 Mill Lane",
        "date": "2099-06-01",
        "slot": "am",
        "trade": "Plumbing",
    }
    assert stack.http.post("/api/appointments", json=job, headers=auth).status_code == 201
    (booked,) = stack.fake.wait_for(1)
    assert "Job E-1" in booked.body and "Monday 1 June 2099" in booked.body
    stack.text("Yes please", "SM" + "4" * 32)
    texts = stack.fake.wait_for(2)
    assert "confirmed" in texts[1].body
    # A lone STOP: no reply, and the next appointment text is not sent.
    stack.text("STOP", "SM" + "5" * 32)
    assert wait_until(lambda: stack.rows(t.address_holds))
    moved = stack.http.put("/api/appointments/E-1", json={"date": "2099-06-02"}, headers=auth)
    assert moved.status_code == 200
    assert wait_until(
        lambda: any(e.kind == "appointment_text_not_sent" for e in stack.rows(t.events))
    )
    assert len(stack.fake.messages) == 2
    assert stack.rows(appointments)[0].slot_date.isoformat() == "2099-06-02"


def test_twilio_busy_is_retried_by_the_outbox(stack: Stack) -> None:
    stack.app.settings.outbox.backoff_seconds = 0.1
    stack.fake.fail_next(429)
    stack.text("My window is broken", "SM" + "6" * 32)
    (ack,) = stack.fake.wait_for(1)
    assert "Ref DS-" in ack.body
    assert [r.attempts for r in stack.rows(t.outbox)] == [2]
