"""`doorstep probe` through bot.cli.main with a config file of the test's own, on real
SQLite and PostgreSQL, and the schedule inside serve (MONITOR)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from bot.cli import main
from bot.probe.worker import ProbeWorker, build_worker
from bot.settings import Settings
from bot.storage import tables_probe as tp
from bot.storage.db import create_engine
from tests.fakes import FakeClock
from tests.integration.helpers import make_app

pytestmark = pytest.mark.integration


def _config(tmp_path: Path, database_url: str, probe: dict[str, object], **extra: object) -> Path:
    config = tmp_path / "config.yml"
    doorstep = {"database_url": database_url, "probe": probe, **extra}
    config.write_text(yaml.safe_dump({"doorstep": doorstep}), encoding="utf-8")
    return config


def test_probe_says_what_is_missing_in_one_sentence(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, database_url, {})
    assert main(["--config", str(config), "probe"]) == 2
    assert "no channel to probe" in capsys.readouterr().err
    config = _config(tmp_path, database_url, {"webchat": True})
    assert main(["--config", str(config), "probe"]) == 2
    assert "probe.secret is not set (DOORSTEP_PROBE__SECRET)" in capsys.readouterr().err
    config = _config(
        tmp_path, database_url, {"secret": "s", "sms": {"from_number": "+447700900555"}}
    )
    assert main(["--config", str(config), "probe", "--channel", "sms"]) == 2
    assert "probe.sms: probe.sms.to_number" in capsys.readouterr().err
    assert main(["--config", str(config), "probe", "--channel", "email"]) == 2
    assert "--channel email: not configured" in capsys.readouterr().err
    own = {"secret": "s", "email": {"from_address": "hello@example.org.uk"}}
    config = _config(tmp_path, database_url, own)
    assert main(["--config", str(config), "probe"]) == 2
    assert "email.smtp: no SMTP relay" in capsys.readouterr().err
    relay = {"smtp": {"host": "127.0.0.1", "port": 2525}}
    config = _config(tmp_path, database_url, own, email=relay)
    assert main(["--config", str(config), "probe"]) == 2
    assert "one of Doorstep's own addresses" in capsys.readouterr().err


def test_probe_status_reads_the_last_probes(
    tmp_path: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, database_url, {"secret": "s", "webchat": True})
    assert main(["--config", str(config), "probe", "--status"]) == 0
    assert capsys.readouterr().out.strip() == "Web chat: never (never probed)"
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            tp.probes.insert().values(
                channel="webchat", nonce="n1", started_at=datetime.now(UTC), status="passed",
                seconds=1.5,
            )
        )  # fmt: skip
    engine.dispose()
    assert main(["--config", str(config), "probe", "--status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Web chat: ok (last ") and "passed, 1.5 s" in out


def test_the_schedule_probes_when_it_is_time(engine: sa.Engine) -> None:
    start = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)
    clock = FakeClock(start)
    off, _ = make_app(engine, clock, Settings(probe={"webchat": True, "secret": "s"}))
    assert build_worker(off) is None  # every_minutes 0: only by hand
    settings = Settings(probe={"webchat": True, "secret": "s", "every_minutes": 60})
    app, _ = make_app(engine, clock, settings)
    worker = build_worker(app)
    assert isinstance(worker, ProbeWorker) and worker.due()
    with engine.begin() as conn:
        conn.execute(
            tp.probes.insert().values(
                channel="webchat", nonce="n", started_at=start, status="passed"
            )
        )
    assert not worker.due()
    clock.advance(minutes=59)
    assert not worker.due()  # another instance probed 59 minutes ago: not yet
    clock.current = start + timedelta(minutes=60)
    assert worker.due()
