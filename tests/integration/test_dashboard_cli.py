"""`doorstep user add` / `doorstep user list` and `doorstep token` against a real SQLite file."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.cli import main
from bot.storage.db import create_engine
from bot.web.dashboard.auth import authenticate

pytestmark = pytest.mark.integration

PASSWORD = "first admin password"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    config = tmp_path / "config.yml"
    config.write_text(
        "doorstep:\n  teams:\n    - {id: repairs, name: Repairs team}\n", encoding="utf-8"
    )
    url = f"sqlite:///{tmp_path / 'doorstep.db'}"
    monkeypatch.setenv("DOORSTEP_CONFIG", str(config))
    monkeypatch.setenv("DOORSTEP_DATABASE_URL", url)
    return url


def run(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(list(argv))


def test_user_add_makes_the_first_admin(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        monkeypatch,
        "user", "add", "Boss@Landlord.example", "--name", "Bo Boss", "--role", "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0
    assert "added boss@landlord.example (admin)" in capsys.readouterr().out
    engine = create_engine(db)
    with engine.begin() as conn:
        user = authenticate(conn, "boss@landlord.example", PASSWORD, datetime.now(UTC))
    engine.dispose()
    assert user is not None and user.role == "admin"
    assert run(monkeypatch, "user", "list") == 0
    assert "boss@landlord.example\tBo Boss\tadmin\t-" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("--role", "agent"), PASSWORD, "an agent needs a team"),
        (("--role", "agent", "--team", "plumbing"), PASSWORD, "unknown team 'plumbing'"),
        (("--role", "admin"), "short", "at least 10 characters"),
    ],
)
def test_user_add_refuses_bad_input(
    db: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    stdin: str,
    message: str,
) -> None:
    code = run(
        monkeypatch,
        "user", "add", "a@landlord.example", "--name", "A", *args, "--password-stdin",
        stdin=stdin + "\n",
    )  # fmt: skip
    assert code == 2
    assert message in capsys.readouterr().err


def test_the_same_address_twice_is_refused(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("user", "add", "a@landlord.example", "--name", "A", "--role", "admin")
    assert run(monkeypatch, *argv, "--password-stdin", stdin=PASSWORD) == 0
    assert run(monkeypatch, *argv, "--password-stdin", stdin=PASSWORD) == 2
    assert "already exists" in capsys.readouterr().err


def test_without_a_terminal_the_password_must_come_from_stdin(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(monkeypatch, "user", "add", "a@landlord.example", "--name", "A", "--role", "admin")
    assert code == 2
    assert "--password-stdin" in capsys.readouterr().err


# ---- doorstep token ------------------------------------------------------------------


def test_token_add_list_revoke(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.web.api_tokens import verify_token

    assert run(monkeypatch, "token", "add", "repairs-system", "--scope", "appointments") == 0
    secret = capsys.readouterr().out.strip()
    assert secret.startswith("ds_") and len(secret) > 40
    engine = create_engine(db)
    try:
        with engine.begin() as conn:
            token = verify_token(conn, secret, now=datetime.now(UTC))
            assert token is not None and token.scope == "appointments"
            stored = conn.execute(sa.text("SELECT token_hash FROM api_tokens")).scalars().all()
        assert secret not in stored  # only the hash is kept
        # A second live token of the same name is refused; --replace rotates it.
        assert run(monkeypatch, "token", "add", "repairs-system", "--scope", "read") == 2
        assert "revoke it first" in capsys.readouterr().err
        argv = ("token", "add", "repairs-system", "--scope", "appointments", "--replace")
        assert run(monkeypatch, *argv) == 0
        rotated = capsys.readouterr().out.strip()
        assert run(monkeypatch, "token", "add", "rasa-actions", "--scope", "assistant") == 0
        capsys.readouterr()
        assert run(monkeypatch, "token", "list") == 0
        listing = capsys.readouterr().out
        assert "repairs-system\tappointments" in listing and "rasa-actions\tassistant" in listing
        assert "ds_" not in listing
        assert run(monkeypatch, "token", "revoke", "repairs-system") == 0
        assert "revoked 1 token named repairs-system" in capsys.readouterr().out
        with engine.begin() as conn:
            assert verify_token(conn, secret, now=datetime.now(UTC)) is None
            assert verify_token(conn, rotated, now=datetime.now(UTC)) is None
        assert run(monkeypatch, "token", "revoke", "repairs-system") == 2
        assert "no live token" in capsys.readouterr().err
        with pytest.raises(SystemExit) as exited:  # argparse refuses an unknown scope
            run(monkeypatch, "token", "add", "x", "--scope", "admin")
        assert exited.value.code == 2
        assert run(monkeypatch, "token", "add", "has space", "--scope", "read") == 2
    finally:
        engine.dispose()
