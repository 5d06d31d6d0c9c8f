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
    with pytest.raises(SettingsError, match=r"nope\.yml \(--config\) does not exist"):
        load_settings(tmp_path / "nope.yml")


def test_missing_doorstep_config_is_an_error_not_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOORSTEP_CONFIG", str(tmp_path / "typo.yml"))
    with pytest.raises(SettingsError, match=r"typo\.yml \(DOORSTEP_CONFIG\) does not exist"):
        load_settings()


def test_a_folder_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="is a folder"):
        load_settings(tmp_path)


def test_relative_paths_are_taken_from_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    config = site / "config.yml"
    config.write_text(
        "doorstep:\n"
        "  database_url: sqlite:///var/site.db\n"
        "  templates_dir: my-templates\n"
        "  nlu: {model_dir: models, data_dir: data}\n"
        "  sla: {bank_holidays_file: holidays.json}\n"
    )
    (site / "my-templates").mkdir()
    (site / "holidays.json").write_text("{}")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    settings = load_settings(config)
    assert settings.database_url == f"sqlite:///{site / 'var' / 'site.db'}"
    assert settings.templates_dir == site / "my-templates"
    assert settings.nlu.model_dir == site / "models"
    assert settings.nlu.data_dir == site / "data"
    assert settings.sla.bank_holidays_file == site / "holidays.json"
    assert settings.config_file == config


def test_defaults_are_the_projects_wherever_the_command_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yml"
    config.write_text("doorstep:\n  organisation: {name: Site Homes}\n")
    monkeypatch.chdir(tmp_path.parent)
    settings = load_settings(config)
    assert settings.nlu.data_dir == REPO / "nlu_data"
    assert settings.nlu.model_dir == REPO / "var" / "models" / "nlu"
    assert settings.database_url == f"sqlite:///{REPO / 'var' / 'doorstep.db'}"


def test_from_another_folder_the_projects_config_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DOORSTEP_CONFIG", raising=False)
    settings = load_settings()
    assert settings.config_file == REPO / "config.yml"
    assert settings.nlu.data_dir == REPO / "nlu_data"


def test_absolute_memory_and_postgresql_urls_are_left_alone(tmp_path: Path) -> None:
    for url in (
        f"sqlite:///{tmp_path / 'a.db'}",
        "sqlite://",
        "sqlite:///:memory:",
        "postgresql://u@h/db",
    ):
        config = tmp_path / "config.yml"
        config.write_text(f"doorstep:\n  database_url: '{url}'\n")
        assert load_settings(config).database_url == url


def test_relative_paths_in_the_environment_are_the_current_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yml"
    config.write_text("doorstep: {}\n")
    monkeypatch.setenv("DOORSTEP_NLU__DATA_DIR", "here")
    assert load_settings(config).nlu.data_dir == Path("here")


def test_no_placeholder_contact_details_by_default() -> None:
    from bot.settings import Organisation

    organisation = Organisation()
    dumped = organisation.model_dump()
    assert not any("example.org.uk" in str(value) for value in dumped.values())
    assert organisation.website is None and organisation.self_service_url is None


def test_a_templates_folder_that_is_not_there_is_named(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("doorstep:\n  templates_dir: my-templates\n")
    with pytest.raises(SettingsError, match=r"templates_dir: .*my-templates is not a folder"):
        load_settings(config)
    (tmp_path / "my-templates").mkdir()
    assert load_settings(config).templates_dir == tmp_path / "my-templates"


def test_bank_holidays_file_that_is_not_there_is_named(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text("doorstep:\n  sla: {bank_holidays_file: hols.json}\n")
    with pytest.raises(SettingsError, match=r"sla\.bank_holidays_file: .*hols\.json"):
        load_settings(config)


def test_environment_json_that_does_not_parse_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yml"
    config.write_text("doorstep: {}\n")
    monkeypatch.setenv("DOORSTEP_TEAMS", "[bad")
    with pytest.raises(SettingsError, match=r'"teams".*must be JSON'):
        load_settings(config)
