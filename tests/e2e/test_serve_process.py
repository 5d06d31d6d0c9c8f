"""`doorstep serve` as it runs in production, a real process: mail in from Dovecot, out
through the SMTP server, sent by the email sending process that serve starts beside it
(`outbox.email_processes`), on SQLite and PostgreSQL.

Promises: EMAIL-NOW (every mail acknowledged at once) and ACK-2 (exactly once), across a
sending process that is paused, killed and started again, and a clean stop.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import yaml

from bot.domain.model import Channel, OutboundMessage
from bot.storage.db import create_engine, migrate
from bot.storage.repository import UnitOfWork
from tests.support.dovecot import TEST_PASSWORD, TEST_USER, DovecotServer
from tests.support.net import free_port
from tests.support.procs import sending_processes
from tests.support.smtp_sink import SmtpSink

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]


def _mail(n: int) -> bytes:
    return (
        f"From: Resident {n} <resident{n}@example.net>\r\nTo: {TEST_USER}\r\n"
        f"Subject: Repair at flat {n}\r\nMessage-ID: <serve-{n}@example.net>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"The bathroom light at flat {n} does not work.\r\n"
    ).encode()


def _wait(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def _answered(sink: SmtpSink) -> Counter[str]:
    return Counter(str(m.message["In-Reply-To"]) for m in sink.messages)


def _config(tmp_path: Path, doorstep: dict[str, object]) -> Path:
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"doorstep": doorstep}), encoding="utf-8")
    return config


def _outbox_by_hand(config: Path) -> subprocess.CompletedProcess[str]:
    """`doorstep outbox` run to its end (the cases where it refuses to start)."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "outbox"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_serve_sends_email_from_a_process_of_its_own(
    database_url: str, dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    mailbox = {
        "name": "housing",
        "host": dovecot.host,
        "port": dovecot.port,
        "security": "none",
        "username": TEST_USER,
        "password": TEST_PASSWORD,
    }
    smtp = {"host": smtp_sink.host, "port": smtp_sink.port, "security": "none"}
    config = _config(
        tmp_path,
        {
            "database_url": database_url,
            "nlu": {"model_dir": str(tmp_path / "nlu")},
            "email": {"from_address": TEST_USER, "mailboxes": [mailbox], "smtp": smtp},
            "outbox": {"poll_seconds": 0.2, "email_processes": 1},
        },
    )
    port = free_port("127.0.0.1")
    serve = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "serve", "--port", str(port),
         "--log-level", "warning"],
        cwd=REPO,
    )  # fmt: skip
    try:

        def healthy() -> bool:
            assert serve.poll() is None, "doorstep serve exited"
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
            except httpx.HTTPError:
                return False

        _wait(healthy, 120, "doorstep serve did not start")
        # /api/status needs credentials: a read-only token, made as an operator would.
        made = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), "token", "add", "monitor",
             "--scope", "read"],
            cwd=REPO, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        auth = {"Authorization": f"Bearer {made.stdout.strip()}"}
        _wait(lambda: len(sending_processes(serve.pid)) == 1, 30, "no sending process")
        (sending,) = sending_processes(serve.pid)

        for n in range(20):
            dovecot.append(TEST_USER, _mail(n))
        _wait(lambda: len(_answered(smtp_sink)) == 20, 60, "not every mail was answered")

        # The sending process is the one that sends: paused, nothing goes; resumed, it does.
        os.kill(sending, signal.SIGSTOP)
        try:
            dovecot.append(TEST_USER, _mail(100))

            def queued() -> bool:
                status = httpx.get(f"http://127.0.0.1:{port}/api/status", headers=auth).json()
                return int(status["outbox"].get("pending", 0)) == 1

            _wait(queued, 30, "the acknowledgement was not queued")
            time.sleep(1.0)  # serve would have sent it by now, had it kept email for itself
            assert "<serve-100@example.net>" not in _answered(smtp_sink)
        finally:
            os.kill(sending, signal.SIGCONT)
        _wait(lambda: "<serve-100@example.net>" in _answered(smtp_sink), 30, "not sent")

        # A sending process that dies is started again, and nothing is lost or doubled.
        os.kill(sending, signal.SIGKILL)
        _wait(
            lambda: (kids := sending_processes(serve.pid)) and kids != [sending],
            30,
            "not restarted",
        )
        for n in range(200, 210):
            dovecot.append(TEST_USER, _mail(n))
        _wait(lambda: len(_answered(smtp_sink)) == 31, 60, "mail after the restart unanswered")
        time.sleep(1.0)  # anything sent twice would arrive now
        answered = _answered(smtp_sink)
        assert len(answered) == 31 and max(answered.values()) == 1
        (restarted,) = sending_processes(serve.pid)
        status = httpx.get(f"http://127.0.0.1:{port}/api/status", headers=auth).json()
        assert status["sending_processes"] == [
            {"name": "email sending 1", "pid": restarted, "restarts": 1}
        ]
    finally:
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(timeout=60)
    # uvicorn shuts down gracefully, then raises the signal again so its status tells why
    assert code in (0, -signal.SIGTERM)
    assert not Path(f"/proc/{restarted}").exists()  # stopped with serve


def test_doorstep_outbox_by_hand_sends_what_is_queued_and_stops_on_sigterm(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    url = f"sqlite:///{tmp_path / 'doorstep.db'}"
    engine = create_engine(url)
    migrate(engine)
    with UnitOfWork(engine) as uow:
        uow.enqueue(
            OutboundMessage(
                channel=Channel.EMAIL,
                recipient="resident@example.net",
                body="We have your message.",
                subject="We have your message",
                idempotency_key="by-hand:1",
            ),
            message_id="<by-hand-1@landlord.example>",
        )
        uow.commit()
    engine.dispose()
    smtp = {"host": smtp_sink.host, "port": smtp_sink.port, "security": "none"}
    config = _config(
        tmp_path, {"database_url": url, "email": {"from_address": TEST_USER, "smtp": smtp}}
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "outbox"], cwd=REPO
    )
    try:
        (mail,) = smtp_sink.wait_for(1, 60.0)
        assert mail.rcpt_tos == ("resident@example.net",)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0


def test_doorstep_outbox_says_when_there_is_nothing_it_could_send(tmp_path: Path) -> None:
    done = _outbox_by_hand(_config(tmp_path, {"database_url": f"sqlite:///{tmp_path / 'd.db'}"}))
    assert done.returncode == 2
    assert "not configured, so nothing to send: email" in done.stderr


def test_doorstep_outbox_on_a_database_serve_has_not_set_up_says_so(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    smtp = {"host": smtp_sink.host, "port": smtp_sink.port}
    config = _config(
        tmp_path,
        {
            "database_url": f"sqlite:///{tmp_path / 'empty.db'}",
            "email": {"from_address": TEST_USER, "smtp": smtp},
        },
    )
    done = _outbox_by_hand(config)
    assert done.returncode == 2
    assert "no Doorstep tables" in done.stderr and "start `doorstep serve` first" in done.stderr
