"""Settings: config.yml plus DOORSTEP_* environment; wrong keys name themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings

REPO = Path(__file__).resolve().parents[3]


def test_repository_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    settings = load_settings()
    assert settings.organisation.name
    assert {"repairs", "asb", "complaints"} <= {t.id for t in settings.teams}


def test_environment_beats_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config.yml"
    config.write_text("doorstep:\n  database_url: sqlite:///file.db\n")
    monkeypatch.setenv("DOORSTEP_DATABASE_URL", "sqlite:///env.db")
    monkeypatch.setenv("DOORSTEP_ORGANISATION__NAME", "Env Homes")
    settings = load_settings(config)
    assert settings.database_url == "sqlite:///env.db"
    assert settings.organisation.name == "Env Homes"


def test_one_mailbox_and_relay_from_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for key, value in {
        "IMAP_HOST": "imap.example.org",
        "IMAP_USER": "repairs@example.org",
        "IMAP_PASSWORD": "secret",
        "IMAP_SECURITY": "starttls",
        "SMTP_HOST": "smtp.example.org",
        "SMTP_SECURITY": "ssl",
        "EMAIL_FROM": "hello@example.org",
    }.items():
        monkeypatch.setenv(f"DOORSTEP_{key}", value)
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    (mailbox,) = settings.email.mailboxes
    assert (mailbox.host, mailbox.port, mailbox.security) == ("imap.example.org", 143, "starttls")
    assert settings.email.smtp is not None and settings.email.smtp.port == 465
    assert settings.email.from_address == "hello@example.org"
    assert "secret" not in repr(settings)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("doorstep:\n  bogus: 1\n", "bogus"),
        ("doorstep:\n  email: {smtp: {port: abc}}\n", "email.smtp.port"),
        ("doorstep:\n  routing: {repair: nobody}\n", "routing.repair"),
        ("doorstep:\n  database_url: mysql://x\n", "database_url"),
        ("doorstep: [1, 2\n", "not valid YAML"),
    ],
)
def test_wrong_setting_names_the_key(tmp_path: Path, text: str, needle: str) -> None:
    config = tmp_path / "config.yml"
    config.write_text(text)
    with pytest.raises(SettingsError, match=needle.replace(".", r"\.")):
        load_settings(config)


def test_named_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "nope.yml")
