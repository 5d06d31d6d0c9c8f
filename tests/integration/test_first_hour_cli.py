"""The `doorstep` command as a new landlord's IT person runs it (issue 20): from another
folder, with a config file that is missing, a channel half set up, a database that is not
there. Each failure is one sentence naming the setting or file, exit status 2, no traceback.
Real processes, real files, a real (unreachable) PostgreSQL port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.net import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]


def doorstep(
    *argv: str, cwd: Path, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DOORSTEP_")}
    clean["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "bot", *argv],
        cwd=cwd,
        env={**clean, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=150,
    )


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("doorstep: error: ")
    return lines[0]


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A landlord's own folder with a config file using relative paths."""
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "config.yml").write_text(
        "doorstep:\n  database_url: sqlite:///data/site.db\n"
        "  teams:\n    - {id: repairs, name: Repairs team}\n",
        encoding="utf-8",
    )
    return folder


def test_commands_work_from_another_folder_with_paths_from_the_config_folder(
    site: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    config = str(site / "config.yml")
    added = doorstep(
        "--config", config, "user", "add", "boss@site.example", "--name", "Bo Boss",
        "--role", "admin", "--password-stdin", cwd=elsewhere, stdin="a long admin password\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert (site / "data" / "site.db").is_file()  # beside the config, not in the current folder
    assert not (elsewhere / "data").exists()
    listed = doorstep("user", "list", cwd=elsewhere, env={"DOORSTEP_CONFIG": config})
    assert listed.returncode == 0 and "boss@site.example" in listed.stdout
    policies = doorstep("--config", config, "sla", "policies", cwd=elsewhere)
    assert policies.returncode == 0 and "ack-2" in policies.stdout


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    line = one_sentence(
        doorstep("sla", "policies", cwd=tmp_path, env={"DOORSTEP_CONFIG": "nowhere.yml"})
    )
    assert "nowhere.yml (DOORSTEP_CONFIG) does not exist" in line
    line = one_sentence(doorstep("--config", "gone.yml", "serve", cwd=tmp_path))
    assert "gone.yml (--config) does not exist" in line


def test_sms_enabled_without_its_secrets_is_named(site: Path) -> None:
    config = str(site / "config.yml")
    line = one_sentence(
        doorstep("--config", config, "serve", cwd=site, env={"DOORSTEP_SMS__ENABLED": "true"})
    )
    assert "sms.enabled" in line and "DOORSTEP_TWILIO_AUTH_TOKEN" in line


def test_unreachable_postgresql_is_named_without_its_password(site: Path) -> None:
    url = f"postgresql://doorstep:s3cret@127.0.0.1:{free_port('127.0.0.1')}/doorstep"
    for argv in (("serve",), ("user", "list")):
        line = one_sentence(
            doorstep(
                "--config", str(site / "config.yml"), *argv, cwd=site,
                env={"DOORSTEP_DATABASE_URL": url},
            )
        )  # fmt: skip
        assert "database_url: cannot connect to postgresql://doorstep:***@127.0.0.1" in line
        assert "s3cret" not in line


def test_a_wrong_key_is_named(site: Path) -> None:
    (site / "config.yml").write_text("doorstep:\n  organisaton: {name: Typo}\n")
    line = one_sentence(doorstep("--config", str(site / "config.yml"), "serve", cwd=site))
    assert "organisaton" in line


def test_a_database_folder_that_cannot_be_made_is_named(site: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    url = f"sqlite:///{blocker}/sub/doorstep.db"
    line = one_sentence(
        doorstep(
            "--config", str(site / "config.yml"), "user", "list", cwd=site,
            env={"DOORSTEP_DATABASE_URL": url},
        )
    )  # fmt: skip
    assert line.startswith("doorstep: error: database_url: cannot use ")


def test_start_up_banner_from_the_real_app(tmp_path: Path) -> None:
    """What serve prints once it listens: the addresses, the next step while nobody can sign
    in, and the gaps (no SMTP, contact details unset)."""
    from datetime import UTC, datetime

    from bot.cli.startup import banner
    from bot.settings import Settings
    from bot.storage.db import create_engine, migrate
    from bot.storage.tables_staff import staff_users
    from tests.fakes import FakeClock
    from tests.integration.helpers import make_app

    engine = create_engine(f"sqlite:///{tmp_path / 'banner.db'}")
    migrate(engine)
    app, _ = make_app(engine, FakeClock(datetime(2026, 12, 7, 10, tzinfo=UTC)), Settings())
    try:
        text = banner(app, "0.0.0.0", 8080).text()
        assert "http://127.0.0.1:8080/\n" in text
        assert "http://127.0.0.1:8080/staff/login" in text
        assert "http://127.0.0.1:8080/healthz" in text
        assert "Next step: no staff user yet" in text and "user add" in text
        assert "organisation.website" in text
        with engine.begin() as conn:
            conn.execute(
                staff_users.insert().values(
                    email="a@b.example", name="A", role="admin", password_hash="x",
                    active=True, created_at=datetime(2026, 12, 7, tzinfo=UTC),
                )
            )  # fmt: skip
        assert "Next step" not in banner(app, "127.0.0.1", 8080).text()
    finally:
        app.close()


def test_a_port_in_use_is_named_before_anything_loads(site: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_sentence(
            doorstep("--config", str(site / "config.yml"), "serve", "--port", str(port), cwd=site)
        )
    assert f"cannot listen on 127.0.0.1:{port} (--host/--port)" in line
