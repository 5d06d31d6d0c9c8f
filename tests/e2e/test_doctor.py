"""`doorstep doctor` against real servers: Dovecot (the mailbox login) and the SMTP sink.
Ready is exit 0; a wrong mailbox password is exit 1 with a line that says what to fix;
settings that cannot be read are exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.dovecot import TEST_PASSWORD, TEST_USER, DovecotServer
from tests.support.net import free_port
from tests.support.smtp_sink import SmtpSink

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, dovecot: DovecotServer, smtp: dict[str, object], password: str) -> Path:
    mailbox = {
        "name": "housing", "host": dovecot.host, "port": dovecot.port, "security": "none",
        "username": TEST_USER, "password": password,
    }  # fmt: skip
    doorstep = {
        "database_url": "sqlite:///var/doctor.db",  # relative: beside the config file
        "organisation": {
            "website": "https://riverside.example",
            "contact_email": "hello@riverside.example",
            "complaints_url": "https://riverside.example/complaints",
            "self_service_url": "https://riverside.example/account",
        },
        "email": {"from_address": TEST_USER, "mailboxes": [mailbox], "smtp": smtp},
    }
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump({"doorstep": doorstep}), encoding="utf-8")
    return config


def _doctor(
    config: Path, cwd: Path, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOORSTEP_")}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra_env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "doctor", "--timeout", "5"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )


def test_ready_configuration_is_exit_0(
    dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    smtp = {"host": smtp_sink.host, "port": smtp_sink.port, "security": "none"}
    config = _config(tmp_path, dovecot, smtp, TEST_PASSWORD)
    result = _doctor(config, cwd=tmp_path.parent)  # from another folder
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ready  mailbox housing" in result.stdout and "logged in" in result.stdout
    assert "ready  email.smtp" in result.stdout and "relay answers" in result.stdout
    assert "ready  templates" in result.stdout
    assert "FIX" not in result.stdout and "Traceback" not in result.stderr
    assert not smtp_sink.messages  # nothing is sent


def test_wrong_password_and_dead_relay_are_exit_1(dovecot: DovecotServer, tmp_path: Path) -> None:
    smtp = {"host": "127.0.0.1", "port": free_port("127.0.0.1"), "security": "none"}
    config = _config(tmp_path, dovecot, smtp, "not the password")
    result = _doctor(config, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    mailbox = next(line for line in lines if "mailbox housing" in line)
    assert mailbox.startswith("FIX") and "login refused" in mailbox
    assert "not the password" not in result.stdout  # secrets are never printed
    relay = next(line for line in lines if "email.smtp" in line)
    assert relay.startswith("FIX") and "cannot talk to the relay" in relay
    assert "2 to fix" in result.stdout
    assert "Traceback" not in result.stderr


def test_unreadable_settings_are_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("doorstep:\n  email: {smtp: {port: twenty-five}}\n")
    result = _doctor(config, cwd=tmp_path)
    assert result.returncode == 2
    assert "email.smtp" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("token_ok", [True, False])
def test_twilio_account_is_checked(
    dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path: Path, token_ok: bool
) -> None:
    from tests.support.fake_twilio import running_fake_twilio

    smtp = {"host": smtp_sink.host, "port": smtp_sink.port, "security": "none"}
    config = _config(tmp_path, dovecot, smtp, TEST_PASSWORD)
    with running_fake_twilio() as twilio:
        document = yaml.safe_load(config.read_text())
        document["doorstep"]["sms"] = {
            "enabled": True, "from_number": "+447700900000", "api_base_url": twilio.url,
        }  # fmt: skip
        config.write_text(yaml.safe_dump(document))
        env = {
            "DOORSTEP_TWILIO_ACCOUNT_SID": twilio.account_sid,
            "DOORSTEP_TWILIO_AUTH_TOKEN": twilio.auth_token if token_ok else "wrong",
        }
        result = _doctor(config, cwd=tmp_path, extra_env=env)
    line = next(line for line in result.stdout.splitlines() if "Twilio" in line)
    if token_ok:
        assert result.returncode == 0, result.stdout
        assert line.startswith("ready") and "Fake account" in line
    else:
        assert result.returncode == 1
        assert line.startswith("FIX") and "cannot be read" in line and "wrong" not in line
