"""The email adapters against real servers: Dovecot (IMAP, IDLE) and an aiosmtpd sink."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from bot.domain.model import Channel, OutboundMessage
from channels.base import PermanentSendError, TransientSendError
from channels.email.imap import (
    ImapIntake,
    InMemoryCursorStore,
    MailboxSettings,
    MailboxUnavailable,
)
from channels.email.loops import auto_reply_block_reason
from channels.email.parse import EmailParseError, parse_email
from channels.email.smtp import SmtpSender, SmtpSettings
from tests.support.dovecot import TEST_PASSWORD, TEST_USER, DovecotServer
from tests.support.smtp_sink import SmtpSink

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

USER, PASSWORD = TEST_USER, TEST_PASSWORD


def mail(n: int, body: str = "My boiler is broken.") -> bytes:
    return (
        f"From: Resident {n} <resident{n}@example.org>\r\nTo: {USER}\r\n"
        f"Subject: enquiry {n}\r\nMessage-ID: <enquiry-{n}@example.org>\r\n"
        f"Date: Mon, 03 Mar 2025 10:00:00 +0000\r\n\r\n{body}\r\n"
    ).encode()


class Inbox:
    """The `on_message` callback: records deliveries like the lead's storage would."""

    def __init__(self) -> None:
        self.delivered: list[tuple[str, int, int, bytes]] = []

    async def __call__(self, mailbox: str, uidvalidity: int, uid: int, raw: bytes) -> None:
        self.delivered.append((mailbox, uidvalidity, uid, raw))

    @property
    def keys(self) -> list[tuple[str, int, int]]:
        return [(m, v, u) for m, v, u, _ in self.delivered]

    @property
    def subjects(self) -> list[str]:
        return [str(parse_email(raw).inbound.subject) for *_, raw in self.delivered]


def mailbox(server: DovecotServer, **overrides: object) -> MailboxSettings:
    fields: dict[str, object] = {
        "name": "repairs",
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": USER,
        "password": PASSWORD,
        # Long on purpose: the prompt-delivery test must be satisfied by IDLE, not a rescan.
        "idle_timeout": 300.0,
        "rescan_interval": 300.0,
        "backoff_initial": 0.1,
        "backoff_max": 0.5,
        "connect_timeout": 5.0,
        "read_timeout": 10.0,
    }
    fields.update(overrides)
    return MailboxSettings(**fields)  # type: ignore[arg-type]


async def wait_until(predicate: Callable[[], bool], timeout: float = 15.0) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


@asynccontextmanager
async def running(intake: ImapIntake) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(intake.run())
    try:
        await intake.wait_connected("repairs", timeout=10)
        yield task
    finally:
        intake.stop()
        await asyncio.wait_for(task, timeout=10)


# --- IMAP ------------------------------------------------------------------------------


async def test_mail_appended_while_idle_is_delivered_promptly(
    dovecot: DovecotServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="channels.email")
    inbox = Inbox()
    intake = ImapIntake([mailbox(dovecot)], InMemoryCursorStore(), inbox)
    async with running(intake):
        await asyncio.sleep(0.3)  # parked in IDLE by now
        await asyncio.to_thread(dovecot.append, USER, mail(1))
        elapsed = await wait_until(lambda: len(inbox.delivered) == 1, timeout=10)
    assert elapsed < 5, f"IDLE delivery took {elapsed:.1f}s"
    assert inbox.subjects == ["enquiry 1"]
    assert inbox.delivered[0][3].rstrip() == mail(1).rstrip()
    assert USER not in caplog.text  # addresses are redacted in logs


async def test_mail_arriving_while_stopped_is_fetched_once_on_restart(
    dovecot: DovecotServer,
) -> None:
    store = InMemoryCursorStore()
    inbox = Inbox()
    async with running(ImapIntake([mailbox(dovecot)], store, inbox)):
        await asyncio.to_thread(dovecot.append, USER, mail(1))
        await wait_until(lambda: len(inbox.delivered) == 1)
    for n in (2, 3):
        await asyncio.to_thread(dovecot.append, USER, mail(n))
    intake = ImapIntake([mailbox(dovecot)], store, inbox)
    async with running(intake):
        await wait_until(lambda: len(inbox.delivered) == 3)
        assert await intake.poll_once("repairs") == 0
    assert inbox.subjects == ["enquiry 1", "enquiry 2", "enquiry 3"]
    assert len(set(inbox.keys)) == 3
    assert store.load("repairs")[1] == inbox.keys[-1][2]


async def test_dovecot_restart_mid_burst_loses_and_duplicates_nothing(
    dovecot: DovecotServer,
) -> None:
    inbox = Inbox()
    intake = ImapIntake([mailbox(dovecot, rescan_interval=2.0)], InMemoryCursorStore(), inbox)

    def burst() -> None:
        for n in range(1, 11):
            dovecot.append(USER, mail(n))
        dovecot.restart()
        for n in range(11, 21):
            dovecot.append(USER, mail(n))

    async with running(intake):
        await asyncio.to_thread(burst)
        await wait_until(lambda: len(inbox.delivered) >= 20, timeout=20)
        await asyncio.sleep(0.5)  # a duplicate would show up now
    assert sorted(inbox.subjects) == sorted(f"enquiry {n}" for n in range(1, 21))
    assert len(set(inbox.keys)) == len(inbox.keys) == 20


async def test_a_ten_megabyte_mail_is_delivered_whole(dovecot: DovecotServer) -> None:
    photo = bytes(range(256)) * (10 * 1024 * 1024 // 256)
    raw = (
        (
            f"From: jo@example.org\r\nTo: {USER}\r\nSubject: photos of the mould\r\n"
            "Message-ID: <big@example.org>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=B\r\n\r\n"
            "--B\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
            "--B\r\nContent-Type: image/jpeg\r\n"
            "Content-Disposition: attachment; filename=wall.jpg\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode()
        + base64.encodebytes(photo).replace(b"\n", b"\r\n")
        + b"--B--\r\n"
    )
    assert len(raw) > 10 * 1024 * 1024
    await asyncio.to_thread(dovecot.append, USER, raw)
    inbox = Inbox()
    intake = ImapIntake([mailbox(dovecot)], InMemoryCursorStore(), inbox)
    assert await intake.poll_once("repairs") == 1
    assert inbox.delivered[0][3] == raw
    parsed = parse_email(inbox.delivered[0][3])
    assert parsed.inbound.body == "See attached."
    assert parsed.inbound.attachments[0].size == len(photo)


async def test_mail_over_the_fetch_limit_becomes_a_quarantined_stand_in(
    dovecot: DovecotServer,
) -> None:
    await asyncio.to_thread(dovecot.append, USER, mail(1, body="x" * 5000))
    await asyncio.to_thread(dovecot.append, USER, mail(2))
    inbox = Inbox()
    intake = ImapIntake([mailbox(dovecot, max_fetch_bytes=2000)], InMemoryCursorStore(), inbox)
    assert await intake.poll_once("repairs") == 2
    with pytest.raises(EmailParseError, match="too large"):
        parse_email(inbox.delivered[0][3])
    assert parse_email(inbox.delivered[1][3]).inbound.subject == "enquiry 2"


async def test_uidvalidity_change_fetches_the_folder_again(dovecot: DovecotServer) -> None:
    await asyncio.to_thread(dovecot.append, USER, mail(1))
    store = InMemoryCursorStore()
    store.save("repairs", 12345, 999)  # a cursor from a folder that was re-created
    inbox = Inbox()
    intake = ImapIntake([mailbox(dovecot)], store, inbox)
    assert await intake.poll_once("repairs") == 1
    validity = await asyncio.to_thread(dovecot.uidvalidity, USER)
    assert store.load("repairs") == (validity, inbox.keys[0][2])


async def test_read_only_by_default_and_move_when_configured(dovecot: DovecotServer) -> None:
    for n in (1, 2):
        await asyncio.to_thread(dovecot.append, USER, mail(n))
    inbox = Inbox()
    store = InMemoryCursorStore()
    await ImapIntake([mailbox(dovecot)], store, inbox).poll_once("repairs")

    def flags_and_count() -> tuple[list[tuple[bytes, ...]], int]:
        client = dovecot.client(USER)
        try:
            client.select_folder("INBOX", readonly=True)
            flags = [f for f in client.get_flags(client.search()).values()]
            if not client.folder_exists("Done"):
                return flags, 0
            return flags, int(client.folder_status("Done", [b"MESSAGES"])[b"MESSAGES"])
        finally:
            client.logout()

    flags, moved = await asyncio.to_thread(flags_and_count)
    assert all(b"\\Seen" not in f for f in flags) and len(flags) == 2 and moved == 0

    def make_folder() -> None:
        client = dovecot.client(USER)
        client.create_folder("Done")
        client.logout()

    await asyncio.to_thread(make_folder)
    await asyncio.to_thread(dovecot.append, USER, mail(3))
    intake = ImapIntake([mailbox(dovecot, move_to="Done", mark_seen=True)], store, inbox)
    assert await intake.poll_once("repairs") == 1
    flags, moved = await asyncio.to_thread(flags_and_count)
    assert len(flags) == 2 and moved == 1


async def test_wrong_password_is_translated(dovecot: DovecotServer) -> None:
    intake = ImapIntake([mailbox(dovecot, password="wrong")], InMemoryCursorStore(), Inbox())
    with pytest.raises(MailboxUnavailable) as caught:
        await intake.poll_once("repairs")
    assert USER not in str(caught.value)


async def test_intake_waits_for_a_server_that_is_down_then_catches_up(
    dovecot: DovecotServer,
) -> None:
    await asyncio.to_thread(dovecot.append, USER, mail(1))
    await asyncio.to_thread(dovecot.stop)
    inbox = Inbox()
    intake = ImapIntake([mailbox(dovecot)], InMemoryCursorStore(), inbox)
    task = asyncio.create_task(intake.run())
    try:
        await asyncio.sleep(1.0)  # several failed connects with back-off
        assert inbox.delivered == []
        await asyncio.to_thread(dovecot.start)
        await wait_until(lambda: len(inbox.delivered) == 1, timeout=10)
    finally:
        intake.stop()
        await asyncio.wait_for(task, timeout=10)


# --- SMTP ------------------------------------------------------------------------------


def sender_for(sink: SmtpSink) -> SmtpSender:
    return SmtpSender(
        SmtpSettings(
            host=sink.host,
            port=sink.port,
            security="none",
            from_address="repairs@landlord.example",
            from_name="Riverside Repairs",
            timeout=5.0,
        )
    )


def acknowledgement(key: str = "ack:1") -> OutboundMessage:
    return OutboundMessage(
        channel=Channel.EMAIL,
        recipient="jo@example.org",
        subject="Boiler",
        body="We have your email and will reply within 3 working days.",
        idempotency_key=key,
        in_reply_to="enquiry-1@example.org",
        references=("enquiry-0@example.org",),
        kind="acknowledgement",
    )


async def test_smtp_sender_delivers_with_the_right_headers(smtp_sink: SmtpSink) -> None:
    result = await sender_for(smtp_sink).send(acknowledgement())
    received = (await asyncio.to_thread(smtp_sink.wait_for, 1))[0]
    assert received.mail_from == "repairs@landlord.example"
    assert received.rcpt_tos == ("jo@example.org",)
    msg = received.message
    assert msg["From"] == "Riverside Repairs <repairs@landlord.example>"
    assert msg["Subject"] == "Re: Boiler"
    assert msg["In-Reply-To"] == "<enquiry-1@example.org>"
    assert msg["References"] == "<enquiry-0@example.org> <enquiry-1@example.org>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["Message-ID"] == f"<{result.provider_id}>"
    assert auto_reply_block_reason(msg) is not None  # our own mail never loops back


async def test_smtp_451_is_transient_550_is_permanent(smtp_sink: SmtpSink) -> None:
    sender = sender_for(smtp_sink)
    smtp_sink.refuse(451)
    with pytest.raises(TransientSendError):
        await sender.send(acknowledgement())
    smtp_sink.refuse(550)
    with pytest.raises(PermanentSendError) as caught:
        await sender.send(acknowledgement())
    assert "jo@example.org" not in str(caught.value)
    smtp_sink.refuse(554, stage="data")
    with pytest.raises(PermanentSendError):
        await sender.send(acknowledgement())
    await sender.send(acknowledgement())  # the refusals were used up
    assert len(await asyncio.to_thread(smtp_sink.wait_for, 1)) == 1


async def test_smtp_server_down_is_transient_and_recovers(smtp_sink: SmtpSink) -> None:
    sender = sender_for(smtp_sink)
    await asyncio.to_thread(smtp_sink.stop)
    with pytest.raises(TransientSendError):
        await sender.send(acknowledgement())
    await asyncio.to_thread(smtp_sink.start)
    await sender.send(acknowledgement())
    assert len(await asyncio.to_thread(smtp_sink.wait_for, 1)) == 1


async def test_a_batch_keeps_one_smtp_session_and_closes_it_at_the_end(
    smtp_sink: SmtpSink,
) -> None:
    sender = sender_for(smtp_sink)
    async with sender.batch():
        for n in range(5):
            await sender.send(acknowledgement(f"ack:{n}"))
        assert len(sender._idle) == 1
    assert sender._idle == []  # nothing is left open between batches
    received = await asyncio.to_thread(smtp_sink.wait_for, 5)
    assert len({mail.peer for mail in received}) == 1
    # Outside a batch every message has a session of its own, closed when it is sent.
    await sender.send(acknowledgement("ack:alone"))
    assert sender._idle == []


async def test_a_kept_session_the_relay_dropped_is_replaced(smtp_sink: SmtpSink) -> None:
    sender = sender_for(smtp_sink)
    async with sender.batch():
        await sender.send(acknowledgement("ack:1"))
        await asyncio.to_thread(smtp_sink.stop)  # drops the kept session
        await asyncio.to_thread(smtp_sink.start)
        await sender.send(acknowledgement("ack:2"))
    received = await asyncio.to_thread(smtp_sink.wait_for, 2)
    assert len(received) == 2
    assert len({mail.peer for mail in received}) == 2  # the second came on a new session
