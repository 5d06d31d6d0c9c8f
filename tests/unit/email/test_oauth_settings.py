"""Mailbox auth and intake settings: per mailbox in config.yml, or one mailbox from the
environment. A wrong combination stops start-up with a message naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings
from channels.email.wiring import imap_mailbox_settings, oauth_settings, smtp_oauth_fields

MS_ENV = {
    "DOORSTEP_IMAP_HOST": "outlook.office365.com",
    "DOORSTEP_IMAP_USER": "repairs@landlord.example",
    "DOORSTEP_IMAP_AUTH": "oauth2",
    "DOORSTEP_OAUTH_PROVIDER": "microsoft",
    "DOORSTEP_OAUTH_TENANT": "contoso.onmicrosoft.com",
    "DOORSTEP_OAUTH_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
    "DOORSTEP_OAUTH_CLIENT_SECRET": "s3cret",
}


@pytest.fixture(autouse=True)
def _no_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # An empty file: only the environment speaks (a named file that is missing is an error).
    empty = tmp_path / "empty.yml"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setenv("DOORSTEP_CONFIG", str(empty))


def _env(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for key, value in values.items():
        monkeypatch.setenv(key, value)


def test_single_microsoft_mailbox_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(monkeypatch, MS_ENV)
    (box,) = load_settings().email.mailboxes
    assert (box.auth, box.provider, box.tenant, box.intake) == (
        "oauth2",
        "microsoft",
        "contoso.onmicrosoft.com",
        "imap",
    )
    imap = imap_mailbox_settings(box)
    assert imap.tokens is not None and imap.password == ""
    oauth = oauth_settings(box)
    assert oauth.scopes("x") == ["x"] and "s3cret" not in repr(oauth)


def test_smtp_logs_in_like_the_mailbox(monkeypatch: pytest.MonkeyPatch) -> None:
    _env(
        monkeypatch,
        {
            **MS_ENV,
            "DOORSTEP_SMTP_HOST": "smtp.office365.com",
            "DOORSTEP_SMTP_SECURITY": "starttls",
            "DOORSTEP_SMTP_USER": "repairs@landlord.example",
        },
    )
    settings = load_settings()
    assert settings.email.smtp is not None and settings.email.smtp.auth == "oauth2"
    fields = smtp_oauth_fields(settings)
    assert fields is not None and fields.tenant == "contoso.onmicrosoft.com"


def test_graph_intake_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: v for k, v in MS_ENV.items() if k != "DOORSTEP_IMAP_HOST"}
    _env(
        monkeypatch,
        {
            **env,
            "DOORSTEP_EMAIL_INTAKE": "graph",
            "DOORSTEP_GRAPH_URL": "https://graph.microsoft.us/v1.0",
        },
    )
    settings = load_settings()
    (box,) = settings.email.mailboxes
    assert box.intake == "graph" and box.graph_url == "https://graph.microsoft.us/v1.0"
    assert settings.email.sender == "graph"  # no SMTP relay: Graph sends


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        ({"DOORSTEP_OAUTH_PROVIDER": ""}, "DOORSTEP_OAUTH_PROVIDER"),
        ({"DOORSTEP_OAUTH_TENANT": ""}, "DOORSTEP_OAUTH_TENANT"),
        ({"DOORSTEP_OAUTH_CLIENT_SECRET": ""}, "DOORSTEP_OAUTH_CLIENT_SECRET"),
        ({"DOORSTEP_OAUTH_PROVIDER": "yahoo"}, "oauth_provider"),
        ({"DOORSTEP_IMAP_AUTH": "password"}, "DOORSTEP_OAUTH_PROVIDER"),
        ({"DOORSTEP_OAUTH_PROVIDER": "generic"}, "DOORSTEP_OAUTH_TOKEN_URL"),
        (
            {"DOORSTEP_EMAIL_INTAKE": "graph", "DOORSTEP_IMAP_AUTH": "password"},
            "DOORSTEP_EMAIL_INTAKE",
        ),
        (
            {
                "DOORSTEP_EMAIL_INTAKE": "graph",
                "DOORSTEP_OAUTH_PROVIDER": "google",
                "DOORSTEP_OAUTH_CLIENT_SECRET": "x",
            },
            "DOORSTEP_EMAIL_INTAKE",
        ),
        ({"DOORSTEP_GRAPH_URL": "https://graph.example"}, "DOORSTEP_GRAPH_URL"),
    ],
)
def test_wrong_combination_names_the_key(
    monkeypatch: pytest.MonkeyPatch, changes: dict[str, str], names: str
) -> None:
    _env(monkeypatch, MS_ENV)
    for key, value in changes.items():
        if value:
            monkeypatch.setenv(key, value)
        else:
            monkeypatch.delenv(key)
    with pytest.raises(SettingsError, match=names):
        load_settings()


def test_config_file_mailbox_keys_are_checked(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text(
        "doorstep:\n  email:\n    mailboxes:\n"
        "      - name: repairs\n        host: imap.gmail.com\n        username: r@l.example\n"
        "        auth: oauth2\n        provider: google\n"
    )
    with pytest.raises(SettingsError, match=r"mailboxes\[repairs\]\.service_account_file"):
        load_settings(config)
    config.write_text(
        "doorstep:\n  email:\n    mailboxes:\n"
        "      - name: repairs\n        username: r@l.example\n        intake: graph\n"
    )
    with pytest.raises(SettingsError, match=r"mailboxes\[repairs\]\.intake"):
        load_settings(config)
    config.write_text(
        "doorstep:\n  email:\n    mailboxes:\n"
        "      - name: repairs\n        host: imap.example\n        username: r@l.example\n"
        "        client_secret: oops\n        tenant: t\n"
    )
    with pytest.raises(SettingsError, match=r"tenant: only used with auth: oauth2"):
        load_settings(config)
    config.write_text("doorstep:\n  email:\n    sender: graph\n")
    with pytest.raises(SettingsError, match=r"email\.sender"):
        load_settings(config)


def test_oauth_for_the_relay_only(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {k: v for k, v in MS_ENV.items() if k != "DOORSTEP_IMAP_AUTH"}
    _env(
        monkeypatch,
        {
            **env,
            "DOORSTEP_IMAP_PASSWORD": "pw",
            "DOORSTEP_SMTP_HOST": "smtp.office365.com",
            "DOORSTEP_SMTP_USER": "repairs@landlord.example",
            "DOORSTEP_SMTP_AUTH": "oauth2",
        },
    )
    settings = load_settings()
    assert settings.email.mailboxes[0].auth == "password"
    assert settings.email.smtp is not None and settings.email.smtp.provider == "microsoft"
