"""The mystery shopper end to end (MONITOR): Doorstep under a real uvicorn server with its
workers; email through the project's SMTP server into Dovecot and read back by IMAP IDLE,
the web chat through the server's real socket, SMS through the real Twilio SDK against
the local fake of Twilio's API. Each probe is timed, its acknowledgement checked, and its
case set apart; a forged marker on the chat is a resident's message.

The two "carriers" here stand in for what is outside Doorstep: the mail relay delivering
to the landlord's mailbox (an APPEND into Dovecot of what reached the SMTP server), and
Twilio forwarding a text to the landlord's number (the signed webhook it would post)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bot.bootstrap import App, bootstrap
from bot.probe.marker import sign
from bot.probe.runner import ProbeRunner
from bot.probe.shoppers import WebchatShopper, shoppers_for
from bot.settings import Mailbox, Smtp
from bot.storage import tables as t
from bot.storage import tables_probe as tp
from bot.web.app import create_app
from tests.conftest import make_sqlite_engine
from tests.fakes import KeywordClassifier
from tests.support.dovecot import TEST_PASSWORD, TEST_USER, DovecotServer
from tests.support.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    OUR_NUMBER,
    FakeTwilio,
    inbound_form,
    running_fake_twilio,
    signed_form,
    sms_settings,
)
from tests.support.net import free_port, wait_for_port
from tests.support.smtp_sink import SmtpSink

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

SECRET = "e2e-probe-secret"
PROBE_ADDRESS = "mystery.shopper@probe.example"
PROBE_NUMBER = "+447700900555"
PROBE_PASSWORD = "probe mailbox password"


class Carriers:
    """The mail relay and the phone network, for messages to the landlord only."""

    def __init__(self, url: str, sink: SmtpSink, dovecot: DovecotServer, fake: FakeTwilio):
        self.url, self.sink, self.dovecot, self.fake = url, sink, dovecot, fake
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="carriers", daemon=True)

    def __enter__(self) -> Carriers:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        mails = texts = 0
        while not self._stop.is_set():
            for mail in list(self.sink.messages)[mails:]:
                mails += 1
                for mailbox in (TEST_USER, PROBE_ADDRESS):
                    if mailbox in mail.rcpt_tos:
                        self.dovecot.append(mailbox, mail.raw)
            for text in list(self.fake.messages)[texts:]:
                texts += 1
                if text.to == OUR_NUMBER:
                    form = inbound_form(text.body, sid=text.sid, sender=text.form["From"])
                    target = f"{self.url}/webhooks/twilio/sms"
                    content, headers = signed_form(AUTH_TOKEN, target, form)
                    httpx.post(target, content=content, headers=headers, timeout=10)
            time.sleep(0.05)


@dataclass
class Stack:
    url: str
    app: App
    sink: SmtpSink
    fake: FakeTwilio
    dovecot: DovecotServer


@pytest.fixture
def stack(tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink) -> Iterator[Stack]:
    import uvicorn

    dovecot.add_user(PROBE_ADDRESS, PROBE_PASSWORD)
    with running_fake_twilio(ACCOUNT_SID, AUTH_TOKEN) as fake:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        settings = sms_settings(
            fake.url,
            public_url=url,
            sms={"quiet_start": "00:00", "quiet_end": "00:00"},
            email={
                "from_address": TEST_USER,
                "mailboxes": [
                    Mailbox(
                        name="repairs", host=dovecot.host, port=dovecot.port, security="none",
                        username=TEST_USER, password=TEST_PASSWORD, rescan_interval=2.0,
                    )
                ],
                "smtp": Smtp(host=smtp_sink.host, port=smtp_sink.port, security="none"),
            },
            outbox={"poll_seconds": 0.1, "backoff_seconds": 0.2},
            probe={
                "secret": SECRET,
                "email": {
                    "from_address": PROBE_ADDRESS,
                    # The whole round trip: the acknowledgement read in the probe's mailbox.
                    "mailbox": {
                        "host": dovecot.host, "port": dovecot.port, "security": "none",
                        "username": PROBE_ADDRESS, "password": PROBE_PASSWORD,
                    },
                },
                "webchat": True,
                "sms": {"from_number": PROBE_NUMBER},
                "wait_seconds": 60,
                "slow_seconds": 45,
            },
        )  # fmt: skip
        engine = make_sqlite_engine(tmp_path)
        app = bootstrap(
            settings, engine=engine, classifier=KeywordClassifier(), run_migrations=False
        )
        server = uvicorn.Server(
            uvicorn.Config(create_app(app), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, name="doorstep-e2e", daemon=True)
        thread.start()
        assert wait_for_port("127.0.0.1", port, timeout=30)
        try:
            with Carriers(url, smtp_sink, dovecot, fake):
                yield Stack(url, app, smtp_sink, fake, dovecot)
        finally:
            server.should_exit = True
            thread.join(timeout=15)
            app.close()


def _rows(app: App, table: sa.Table) -> list[sa.Row[tuple[object, ...]]]:
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(table)).all())


def test_a_probe_on_every_channel_is_answered_timed_checked_and_set_apart(stack: Stack) -> None:
    runner = ProbeRunner(
        stack.app.settings,
        stack.app.engine,
        shoppers_for(stack.app.settings),
        now=lambda: datetime.now(UTC),
        poll_seconds=0.2,
    )
    results = {r.channel: r for r in asyncio.run(runner.run())}
    assert set(results) == {"email", "webchat", "sms"}
    for result in results.values():
        assert result.status in ("passed", "slow"), result
        assert result.seconds is not None and result.seconds > 0
        assert result.reference is not None and result.reference.startswith("DS-")
    # The acknowledgements really went back to the probe's own address and number.
    acks = [m for m in stack.sink.messages if PROBE_ADDRESS in m.rcpt_tos]
    assert len(acks) == 1 and results["email"].reference in str(acks[0].message["Subject"])
    # Read in the probe's own mailbox, then deleted there: it does not fill up.
    client = stack.dovecot.client(PROBE_ADDRESS)
    try:
        client.select_folder("INBOX")
        assert client.search(["ALL"]) == []
    finally:
        client.logout()
    texts = [m for m in stack.fake.messages if m.to == PROBE_NUMBER]
    assert len(texts) == 1 and results["sms"].reference in texts[0].body
    # Every probe's case is set apart: closed, named, out of the queue and the figures.
    probes = _rows(stack.app, tp.probes)
    assert sorted(p.status for p in probes) == sorted(r.status for r in results.values())
    named = {r.interaction_id for r in _rows(stack.app, tp.probe_cases)}
    cases = {r.id: r for r in _rows(stack.app, t.interactions)}
    assert len(named) == 3 and all(cases[i].status == "closed" for i in named)

    # A forged marker on the chat is a resident: answered, and left in the queue.
    forged, _ = sign("not-the-landlords-secret", "webchat", datetime.now(UTC))
    sent = asyncio.run(WebchatShopper(stack.app.settings).send(forged, datetime.now(UTC), 30))
    assert sent.answer is not None and "DS-" in sent.answer.text
    assert {r.interaction_id for r in _rows(stack.app, tp.probe_cases)} == named
    open_cases = [r for r in _rows(stack.app, t.interactions) if r.status == "open"]
    assert len(open_cases) == 1 and open_cases[0].channel == "webchat"
