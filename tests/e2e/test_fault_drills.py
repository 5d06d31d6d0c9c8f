"""Fault drills with a real `doorstep serve`, Dovecot and an SMTP server: the database's
connections cut mid-burst, the SMTP relay down for a while, Dovecot restarted, the disk
full under SQLite. Each time: nothing lost, nothing doubled (ACK-2: one acknowledgement per
enquiry, a resend carrying the same Message-ID), the state clear on /api/status, and
recovery on its own. Back-offs and leases are set short so that each drill takes seconds.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.storage.db import create_engine, migrate
from tests.conftest import PG_URL
from tests.support.dovecot import TEST_PASSWORD, TEST_USER, DovecotServer
from tests.support.serve import Serve, acknowledgements, mail, wait, write_config
from tests.support.smtp_sink import SmtpSink

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def nlu_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("nlu")


@pytest.fixture
def running() -> Iterator[list[Serve]]:
    started: list[Serve] = []
    yield started
    for serve in started:
        serve.stop()


def _doorstep(
    database_url: str, dovecot: DovecotServer, sink: SmtpSink, nlu: Path
) -> dict[str, object]:
    mailbox = {
        "name": "housing",
        "host": dovecot.host,
        "port": dovecot.port,
        "security": "none",
        "username": TEST_USER,
        "password": TEST_PASSWORD,
        "rescan_interval": 2.0,
    }
    smtp = {"host": sink.host, "port": sink.port, "security": "none", "timeout": 5.0}
    return {
        "database_url": database_url,
        "nlu": {"model_dir": str(nlu)},
        "email": {"from_address": TEST_USER, "mailboxes": [mailbox], "smtp": smtp},
        "outbox": {
            "poll_seconds": 0.2,
            "lease_seconds": 3.0,
            "backoff_seconds": 0.5,
            "backoff_max_seconds": 2.0,
            "max_attempts": 100,
        },
        "instances": {"heartbeat_seconds": 0.5},
    }


def _start(config: Path, running: list[Serve]) -> Serve:
    serve = Serve(config).start()
    running.append(serve)
    return serve.wait_healthy()


def _exactly_once(sink: SmtpSink, expected: int) -> None:
    found = acknowledgements(sink)
    assert len(found) == expected, f"{expected - len(found)} enquiries unanswered"
    twice = {k: v for k, v in found.items() if len(v) != 1}
    assert not twice, f"more than one acknowledgement: {twice}"


def _settled(serve: Serve, total: int) -> dict[str, Any]:
    """Everything decided and sent, nothing failing, the jobs held again."""

    def done() -> bool:
        status = serve.status()
        return (
            status["inbound"].get("processed") == total
            and set(status["outbox"]) == {"sent"}
            and not status["instance"]["faults"]
            and {"inbound", "mailbox:housing"} <= set(status["instance"]["holds"])
        )

    wait(done, 30, "serve did not settle after the drill", step=0.2)
    return serve.status()


def test_database_connections_cut_mid_burst(
    database_url: str,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    tmp_path: Path,
    nlu_dir: Path,
    running: list[Serve],
) -> None:
    """What a PostgreSQL restart does to its clients, without restarting the shared server:
    every session of this serve and its sending process is terminated, three times."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's sessions; SQLite has none to lose")
    name = f"drill_{uuid.uuid4().hex[:10]}"
    url = f"{database_url}&application_name={name}"
    serve = _start(write_config(tmp_path, _doorstep(url, dovecot, smtp_sink, nlu_dir)), running)
    admin = create_engine(PG_URL)
    try:
        for n in range(100):
            dovecot.append(TEST_USER, mail(n, TEST_USER, "pgcut"))
        wait(lambda: len(acknowledgements(smtp_sink)) >= 3, 60, "the burst was not answered")
        cut, at_first_cut = 0, -1
        for _ in range(3):
            with admin.begin() as conn:
                cut += len(
                    conn.execute(
                        sa.text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE application_name = :name"
                        ),
                        {"name": name},
                    ).all()
                )
            if at_first_cut < 0:
                at_first_cut = len(acknowledgements(smtp_sink))
            time.sleep(0.7)
        assert cut >= 3
        assert at_first_cut < 100, "cut after the burst, not during it"
        for n in range(100, 110):  # and mail that comes after
            dovecot.append(TEST_USER, mail(n, TEST_USER, "pgcut"))
        took = wait(lambda: len(acknowledgements(smtp_sink)) == 110, 60, "unanswered after cuts")
    finally:
        admin.dispose()
    time.sleep(1.0)
    _exactly_once(smtp_sink, 110)
    _settled(serve, 110)
    print(
        f"\n{cut} sessions cut, the first time with {at_first_cut}/100 answered; "
        f"every enquiry answered {took:.1f}s after the last cut"
    )


def test_smtp_relay_down_for_a_while(
    database_url: str,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    tmp_path: Path,
    nlu_dir: Path,
    running: list[Serve],
) -> None:
    serve = _start(
        write_config(tmp_path, _doorstep(database_url, dovecot, smtp_sink, nlu_dir)), running
    )
    smtp_sink.stop()
    for n in range(20):
        dovecot.append(TEST_USER, mail(n, TEST_USER, "relay"))

    def retrying() -> bool:
        waiting = serve.status()["instance"]["outbox_retrying"]
        return bool(waiting["messages"] == 20 and waiting["last_error"])

    wait(retrying, 60, "/api/status does not show the mail waiting for the relay", step=0.2)
    status = serve.status()
    assert status["inbound"].get("processed") == 20  # decided and queued, nothing lost
    print(f"\nwhile the relay is down: {status['instance']['outbox_retrying']}")
    time.sleep(3.0)  # down a while longer: several retries each
    smtp_sink.start()
    took = wait(lambda: len(acknowledgements(smtp_sink)) == 20, 60, "not sent after the relay")
    time.sleep(1.0)
    _exactly_once(smtp_sink, 20)
    assert _settled(serve, 20)["instance"]["outbox_retrying"]["messages"] == 0
    print(f"all sent {took:.1f}s after the relay came back")


def test_dovecot_restarted_mid_burst(
    database_url: str,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    tmp_path: Path,
    nlu_dir: Path,
    running: list[Serve],
) -> None:
    serve = _start(
        write_config(tmp_path, _doorstep(database_url, dovecot, smtp_sink, nlu_dir)), running
    )
    for n in range(40):
        dovecot.append(TEST_USER, mail(n, TEST_USER, "imap"))
    wait(lambda: len(acknowledgements(smtp_sink)) >= 3, 60, "the burst was not answered")
    dovecot.restart()
    for n in range(40, 50):  # mail that arrives while, or right after, it restarts
        dovecot.append(TEST_USER, mail(n, TEST_USER, "imap"))
    took = wait(lambda: len(acknowledgements(smtp_sink)) == 50, 60, "unanswered after restart")
    time.sleep(1.0)
    _exactly_once(smtp_sink, 50)
    _settled(serve, 50)
    print(f"\nevery mail answered {took:.1f}s after Dovecot restarted")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MB tmpfs of our own (root only; skipped where mounting is not allowed)."""
    where = tmp_path / "disk"
    where.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small file system needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: Path) -> Path:
    """Fill the file system to the last byte."""
    filler = disk / "filler"
    chunk = b"\0" * (1 << 20)
    with open(filler, "wb", buffering=0) as out:
        with contextlib.suppress(OSError):
            while True:
                out.write(chunk)
        with contextlib.suppress(OSError):
            while True:
                out.write(b"\0" * 4096)
    return filler


def test_disk_full_under_sqlite(
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    tmp_path: Path,
    nlu_dir: Path,
    small_disk: Path,
    running: list[Serve],
) -> None:
    url = f"sqlite:///{small_disk / 'doorstep.db'}"
    engine = create_engine(url)
    migrate(engine)
    engine.dispose()
    serve = _start(write_config(tmp_path, _doorstep(url, dovecot, smtp_sink, nlu_dir)), running)
    for n in range(5):
        dovecot.append(TEST_USER, mail(n, TEST_USER, "disk"))
    wait(lambda: len(acknowledgements(smtp_sink)) == 5, 60, "not answered before the drill")

    filler = _fill(small_disk)
    for n in range(5, 25):
        dovecot.append(TEST_USER, mail(n, TEST_USER, "disk"))

    def says_full() -> bool:
        return "full" in " ".join(serve.status()["instance"]["faults"].values()).lower()

    wait(says_full, 60, "/api/status does not say the disk is full", step=0.2)
    print(f"\nwhile the disk is full: {serve.status()['instance']['faults']}")
    assert serve.healthy()  # still up: the dashboard and the status page still answer
    filler.unlink()
    took = wait(lambda: len(acknowledgements(smtp_sink)) == 25, 90, "unanswered after freeing")
    time.sleep(1.0)
    _exactly_once(smtp_sink, 25)
    _settled(serve, 25)
    print(f"every mail answered {took:.1f}s after space was freed")


def test_twilio_failing_for_a_while(
    database_url: str, tmp_path: Path, nlu_dir: Path, running: list[Serve]
) -> None:
    """The real Twilio SDK against the local fake, which answers 503 for a while: every text
    is acknowledged once the provider is back, none twice, and /api/status says why it waits."""
    from collections import Counter

    import httpx

    from tests.support.fake_twilio import (
        ACCOUNT_SID,
        AUTH_TOKEN,
        OUR_NUMBER,
        inbound_form,
        running_fake_twilio,
        signed_form,
    )

    with running_fake_twilio(ACCOUNT_SID, AUTH_TOKEN) as fake:
        serve = Serve(tmp_path / "config.yml")
        write_config(
            tmp_path,
            {
                "database_url": database_url,
                "public_url": serve.url,
                "nlu": {"model_dir": str(nlu_dir)},
                "twilio_account_sid": ACCOUNT_SID,
                "twilio_auth_token": AUTH_TOKEN,
                "sms": {
                    "enabled": True,
                    "from_number": OUR_NUMBER,
                    "api_base_url": fake.url,
                    "quiet_hours_for_replies": False,  # whatever the hour the drill runs
                    "status_callbacks": False,
                },
                "outbox": {"poll_seconds": 0.2, "backoff_seconds": 0.5, "backoff_max_seconds": 2},
                "instances": {"heartbeat_seconds": 0.5},
            },
        )
        serve.start()
        running.append(serve)
        serve.wait_healthy()
        fake.fail_next(503, times=1000)
        residents = [f"+4477009{n:05d}" for n in range(10)]
        for n, phone in enumerate(residents):
            form = inbound_form("My boiler is broken, no heating", sid=f"SM{n:032x}", sender=phone)
            body, headers = signed_form(AUTH_TOKEN, f"{serve.url}/webhooks/twilio/sms", form)
            response = httpx.post(f"{serve.url}/webhooks/twilio/sms", content=body, headers=headers)
            assert response.status_code == 200

        def retrying() -> bool:
            waiting = serve.status()["instance"]["outbox_retrying"]
            return bool(waiting["messages"] == 10 and waiting["last_error"])

        wait(retrying, 60, "/api/status does not show the texts waiting", step=0.2)
        print(f"\nwhile Twilio fails: {serve.status()['instance']['outbox_retrying']}")
        assert fake.messages == []
        with fake._lock:
            fake._failures.clear()  # Twilio is back
        took = wait(lambda: len({m.to for m in fake.messages}) == 10, 60, "texts not sent")
        time.sleep(1.5)
        sent = Counter(m.to for m in fake.messages)
        assert set(sent) == set(residents) and max(sent.values()) == 1
        print(f"every text sent {took:.1f}s after Twilio came back")
