"""The whole email auto-acknowledger on real servers: Dovecot (IMAP IDLE) in, the real
pipeline and storage, the outbox, and an aiosmtpd server out.

Promises: EMAIL-NOW (acknowledged at once, threaded under the resident's mail), ACK-2 (a
reply in the thread gets no second acknowledgement), TEAM-RECEIPT, and loop protection over
every real bounce and auto-reply in ../shared/corpora (none may get a reply, none may stop
the loop).
"""

from __future__ import annotations

import asyncio
import time
from email.utils import formatdate
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.bootstrap import App, bootstrap
from bot.nlu.types import Classifier
from bot.runtime import Runtime
from bot.settings import Mailbox, Settings, Smtp
from bot.storage import tables as t
from tests.conftest import shared_dir
from tests.support.dovecot import TEST_PASSWORD, TEST_USER, DovecotServer
from tests.support.smtp_sink import SmtpSink

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

USER, PASSWORD = TEST_USER, TEST_PASSWORD
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def classifier(tmp_path_factory: pytest.TempPathFactory) -> Classifier:
    from bot.nlu.loader import load_or_train

    return load_or_train(tmp_path_factory.mktemp("nlu") / "model", REPO / "nlu_data", today=None)


def settings_for(dovecot: DovecotServer, sink: SmtpSink) -> Settings:
    return Settings(
        email={
            "from_address": USER,
            "mailboxes": [
                Mailbox(
                    name="repairs",
                    host=dovecot.host,
                    port=dovecot.port,
                    security="none",
                    username=USER,
                    password=PASSWORD,
                    rescan_interval=5.0,
                )
            ],
            "smtp": Smtp(host=sink.host, port=sink.port, security="none"),
        },
        outbox={"poll_seconds": 0.1, "backoff_seconds": 0.2},
    )


def resident_mail(n: int, body: str, *, extra: str = "", sender: str | None = None) -> bytes:
    sender = sender or f"resident{n}@example.net"
    return (
        f"From: Resident {n} <{sender}>\r\nTo: {USER}\r\n"
        f"Subject: Problem at my flat {n}\r\nMessage-ID: <enquiry-{n}@example.net>\r\n"
        f"Date: {formatdate()}\r\n{extra}"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


async def wait_until(check: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):  # type: ignore[arg-type]
            return
        await asyncio.sleep(0.1)
    raise TimeoutError("condition not met in time")


def inbound_statuses(app: App) -> dict[str, int]:
    c = t.inbound_messages.c
    with app.engine.connect() as conn:
        rows = conn.execute(sa.select(c.status, sa.func.count()).group_by(c.status)).all()
    return {str(status): int(n) for status, n in rows}


def outbox_rows(app: App) -> list[sa.Row[tuple[str, str, bool]]]:
    c = t.outbox.c
    with app.engine.connect() as conn:
        return list(conn.execute(sa.select(c.recipient, c.status, c.auto)).all())


async def test_resident_mail_is_acknowledged_once_and_threaded(
    engine: sa.Engine, dovecot: DovecotServer, smtp_sink: SmtpSink, classifier: Classifier
) -> None:
    app = bootstrap(
        settings_for(dovecot, smtp_sink), engine=engine, classifier=classifier,
        run_migrations=False,
    )  # fmt: skip
    runtime = Runtime(app, poll_seconds=0.2)
    await runtime.start()
    try:
        started = time.monotonic()
        dovecot.append(USER, resident_mail(1, "The kitchen tap is dripping, can someone look?"))
        (ack,) = await asyncio.to_thread(smtp_sink.wait_for, 1, 20.0)
        elapsed = time.monotonic() - started
        message = ack.message
        assert ack.rcpt_tos == ("resident1@example.net",)
        assert message["In-Reply-To"] == "<enquiry-1@example.net>"
        assert "<enquiry-1@example.net>" in str(message["References"])
        assert message["Auto-Submitted"] == "auto-replied"
        assert message["X-Auto-Response-Suppress"] == "All"
        reference = str(message["Subject"]).split("[")[-1].split("]")[0]
        assert reference.startswith("DS-")
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert reference in text
        assert elapsed < 20

        # ACK-2: the resident's reply joins the thread and gets no second acknowledgement.
        reply = (
            f"From: Resident 1 <resident1@example.net>\r\nTo: {USER}\r\n"
            f"Subject: Re: {message['Subject']}\r\nMessage-ID: <enquiry-1b@example.net>\r\n"
            "In-Reply-To: <enquiry-1@example.net>\r\n"
            f"Date: {formatdate()}\r\n\r\nIt is worse now.\r\n"
        ).encode()
        dovecot.append(USER, reply)
        await wait_until(lambda: inbound_statuses(app).get("joined") == 1, 20)
        await asyncio.sleep(1.0)
        assert len(smtp_sink.messages) == 1
    finally:
        await runtime.stop()
        app.close()


@pytest.mark.corpus
async def test_no_bounce_or_auto_reply_in_the_corpus_gets_a_reply(
    engine: sa.Engine, dovecot: DovecotServer, smtp_sink: SmtpSink, classifier: Classifier
) -> None:
    shared = shared_dir()
    folder = shared / "corpora" / "sisimai-set-of-emails" if shared else None
    if folder is None or not folder.is_dir():
        pytest.skip("../shared/corpora/sisimai-set-of-emails is not available")
    if engine.dialect.name != "sqlite":
        pytest.skip("the corpus run once is enough; the pipeline is covered on PostgreSQL")
    files = sorted((folder / "bsd").glob("*.eml"))
    assert files
    app = bootstrap(
        settings_for(dovecot, smtp_sink), engine=engine, classifier=classifier,
        run_migrations=False,
    )  # fmt: skip
    for path in files:
        dovecot.append(USER, path.read_bytes())
    # A resident's mail after all of them: the loop must still be running and answering.
    dovecot.append(USER, resident_mail(99, "There is a leak under the sink."))
    runtime = Runtime(app, poll_seconds=0.2)
    await runtime.start()
    try:
        expected = len(files) + 1

        def all_decided() -> bool:
            statuses = inbound_statuses(app)
            return sum(statuses.values()) == expected and not statuses.get("received")

        await wait_until(all_decided, 180)
        await asyncio.to_thread(smtp_sink.wait_for, 1, 20.0)
        await asyncio.sleep(1.0)
        recipients = [mail.rcpt_tos for mail in smtp_sink.messages]
        assert recipients == [("resident99@example.net",)]
        auto_rows = [row for row in outbox_rows(app) if row.auto]
        assert [row.recipient for row in auto_rows] == ["resident99@example.net"]
        # Only the resident's mail opened an interaction; the rest were suppressed with a
        # reason (or were duplicates of a Message-ID already stored).
        assert inbound_statuses(app).get("processed") == 1
    finally:
        await runtime.stop()
        app.close()
