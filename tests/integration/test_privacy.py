"""Data protection on real SQLite and PostgreSQL (PRIVACY, issue 13): the retention
policy and its dry run, subject access export of a resident who used email, SMS and web
chat, and recorded erasure."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.cli import main
from bot.privacy import retention, sar
from bot.settings import Retention, Settings, Team
from bot.storage import tables as t
from bot.storage.db import create_engine, migrate
from bot.storage.tables_webchat import webchat_messages, webchat_sessions
from tests.fakes import FakeClock
from tests.integration.helpers import deliver, make_app

pytestmark = pytest.mark.integration

MONDAY_10 = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)
JO = "jo@example.net"
JO_PHONE = "+447700900555"
CHAT = "ws-0123456789abcdef01234567"


def _settings() -> Settings:
    return Settings(
        teams=[
            Team(id="customer-services", name="Customer Services team"),
            Team(id="repairs", name="Repairs team"),
            Team(id="asb", name="Community Safety team"),
        ],
        routing={"repair": "repairs", "asb": "asb"},
    )


def _count(engine: sa.Engine, table: sa.Table, *where: Any) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).one()[0]
        )


def _resident_on_three_channels(engine: sa.Engine, clock: FakeClock) -> Any:
    """Jo writes by email, texts from a number on their record, and chats on the website."""
    app, _ = make_app(engine, clock, _settings())
    deliver(
        app, "e1", **{"from": JO}, subject="Leak", body="Water is coming through <b>ceiling</b>"
    )
    (first,) = app.pipeline.process_pending()
    with engine.begin() as conn:
        contact = conn.execute(
            sa.select(t.interactions.c.contact_id).where(
                t.interactions.c.id == first.interaction_id
            )
        ).scalar_one()
        # The landlord's records link the phone and the chat to the same resident.
        conn.execute(
            t.contact_identities.insert(),
            [
                {"contact_id": contact, "kind": "phone", "value": JO_PHONE},
                {"contact_id": contact, "kind": "webchat", "value": CHAT},
            ],
        )
        conn.execute(
            webchat_sessions.insert().values(
                id=CHAT, token_hash="x" * 64, conversation_id="wc-1", last_seq=1,
                created_at=MONDAY_10, last_seen_at=MONDAY_10,
            )
        )  # fmt: skip
        conn.execute(
            webchat_messages.insert().values(
                session_id=CHAT, seq=1, role="resident", body="Neighbour is shouting at me",
                created_at=MONDAY_10,
            )
        )  # fmt: skip
    deliver(app, "s1", channel="sms", **{"from": JO_PHONE}, body="the boiler is broken too")
    deliver(app, "w1", channel="webchat", **{"from": CHAT}, body="Neighbour is shouting at me")
    deliver(app, "x1", **{"from": "someone@else.example"}, body="My window is broken")
    app.pipeline.process_pending()
    return app


def test_sar_export_of_a_resident_who_used_email_sms_and_chat(
    engine: sa.Engine, tmp_path: Path
) -> None:
    clock = FakeClock(MONDAY_10)
    app = _resident_on_three_channels(engine, clock)
    out = tmp_path / "sar"
    done = sar.export(
        engine, app.settings, app.clocks, email="JO@example.net ", phone=None, out_dir=out,
        now=clock(),
    )  # fmt: skip
    data = json.loads(done.json_path.read_text(encoding="utf-8"))
    sent = {(m["channel"], m["body"]) for case in data["cases"] for m in case["messages_from_you"]}
    assert ("email", "Water is coming through <b>ceiling</b>") in sent
    assert ("sms", "the boiler is broken too") in sent
    assert ("webchat", "Neighbour is shouting at me") in sent
    assert {i["kind"] for i in data["contacts"][0]["identities"]} == {"email", "phone", "webchat"}
    assert data["chats"][0]["lines"][0]["body"] == "Neighbour is shouting at me"
    assert any(c["messages_to_you"] for c in data["cases"])  # our acknowledgements
    assert "My window is broken" not in done.json_path.read_text(encoding="utf-8")
    html = done.html_path.read_text(encoding="utf-8")
    assert "&lt;b&gt;ceiling&lt;/b&gt;" in html and "<b>ceiling" not in html
    assert "the boiler is broken too" in html and done.reference in html
    for path in (done.json_path, done.html_path):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    # The request is a case of its own with its one-month clock (PRIVACY).
    with engine.connect() as conn:
        case = conn.execute(
            sa.select(t.interactions).where(t.interactions.c.reference == done.reference)
        ).one()
        (clock_row,) = conn.execute(
            sa.select(t.clocks).where(t.clocks.c.interaction_id == case.id)
        ).all()
        event = conn.execute(
            sa.select(t.events.c.detail).where(t.events.c.kind == "sar_exported")
        ).scalar_one()
    assert case.intent == "subject_access_request" and case.team == "customer-services"
    assert clock_row.policy == "sar" and clock_row.is_open
    assert timedelta(days=28) <= clock_row.due_at - MONDAY_10 <= timedelta(days=32)
    assert JO not in json.dumps(event)  # the record holds counts, not the person's data


def test_sar_for_someone_unknown_is_refused(engine: sa.Engine, tmp_path: Path) -> None:
    app, _ = make_app(engine, FakeClock(MONDAY_10), _settings())
    with pytest.raises(sar.SubjectNotFound):
        sar.export(
            engine, app.settings, app.clocks, email=None, phone="07700 900999",
            out_dir=tmp_path / "x", now=MONDAY_10,
        )  # fmt: skip
    assert not (tmp_path / "x").exists()


def test_retention_dry_run_counts_and_changes_nothing_then_applies(engine: sa.Engine) -> None:
    clock = FakeClock(MONDAY_10)
    app = _resident_on_three_channels(engine, clock)
    with engine.begin() as conn:
        # Jo's email case was closed long ago.
        email_case = conn.execute(
            sa.select(t.interactions.c.id).where(t.interactions.c.channel == "email")
            .order_by(t.interactions.c.id).limit(1)
        ).scalar_one()  # fmt: skip
        conn.execute(
            t.interactions.update().where(t.interactions.c.id == email_case).values(status="closed")
        )
    quarantined = deliver(app, "q1", explode=True)  # a decoder bug: kept for another try
    app.pipeline.process_pending()
    policy = Retention()

    later = MONDAY_10 + timedelta(days=91)
    with engine.begin() as conn:
        planned = retention.plan(conn, policy, later)
    assert planned.raw_payloads == 4 and planned.chat_lines == 0
    assert planned.closed_interactions == 0
    assert _count(engine, t.inbound_messages, t.inbound_messages.c.raw.is_not(None)) == 5

    much_later = MONDAY_10 + timedelta(days=6 * 366)
    with engine.begin() as conn:
        planned = retention.plan(conn, policy, much_later)
    assert (planned.raw_payloads, planned.chat_lines, planned.closed_interactions) == (4, 1, 1)
    with engine.begin() as conn:
        retention.apply(conn, policy, much_later)

    # Raw payloads of handled messages are gone; the quarantined one keeps its own.
    with engine.connect() as conn:
        raws = dict(
            conn.execute(sa.select(t.inbound_messages.c.id, t.inbound_messages.c.raw)).all()
        )
        case = conn.execute(
            sa.select(t.interactions).where(t.interactions.c.id == email_case)
        ).one()
        bodies = conn.execute(
            sa.select(t.inbound_messages.c.body).where(
                t.inbound_messages.c.interaction_id == email_case
            )
        ).scalars().all()  # fmt: skip
        recorded = conn.execute(
            sa.select(t.events.c.detail).where(t.events.c.kind == "retention_applied")
        ).scalar_one()
        identities = conn.execute(sa.select(t.contact_identities.c.value)).scalars().all()
    assert [i for i, raw in raws.items() if raw is not None] == [quarantined]
    assert case.status == "anonymised" and case.subject is None and case.address is None
    assert bodies == ["[removed]"] and case.reference and case.topic
    assert recorded["closed_interactions"] == 1 and recorded["raw_payloads"] == 4
    # Jo still has open cases (SMS, chat): their identities stay so staff can answer.
    assert JO in identities
    assert _count(engine, webchat_messages) == 0


def test_erasure_anonymises_closed_cases_keeps_open_ones_and_is_recorded(
    engine: sa.Engine,
) -> None:
    _resident_on_three_channels(engine, FakeClock(MONDAY_10))
    with engine.begin() as conn:
        conn.execute(
            t.interactions.update().where(t.interactions.c.channel == "sms").values(status="closed")
        )
    erased, kept, _ = sar.erase(
        engine, email=None, phone="07700 900555", reason="request of 21 Dec", now=MONDAY_10,
        dry_run=True,
    )  # fmt: skip
    assert len(erased) == 1 and len(kept) == 2
    assert _count(engine, t.interactions, t.interactions.c.status == "anonymised") == 0
    sar.erase(engine, email=None, phone="07700 900555", reason="request of 21 Dec", now=MONDAY_10)
    assert _count(engine, t.interactions, t.interactions.c.status == "anonymised") == 1
    with engine.connect() as conn:
        (detail,) = conn.execute(
            sa.select(t.events.c.detail).where(t.events.c.kind == "erasure")
        ).scalars()
    assert detail["reason"] == "request of 21 Dec" and detail["cases"] == 1
    with pytest.raises(ValueError, match="reason"):
        sar.erase(engine, email=JO, phone=None, reason=" ", now=MONDAY_10)


def test_retention_dry_run_command(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for name in list(os.environ):
        if name.upper().startswith("DOORSTEP_"):
            monkeypatch.delenv(name)
    engine = create_engine(database_url)
    migrate(engine)
    engine.dispose()
    config = tmp_path / "config.yml"
    config.write_text(
        f'doorstep:\n  database_url: "{database_url}"\n  privacy:\n    retention:\n'
        "      raw_payloads_days: 30\n",
        encoding="utf-8",
    )
    assert main(["--config", str(config), "retention", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "Dry run: would remove" in out and "raw payloads older than" in out
    config.write_text(
        f'doorstep:\n  database_url: "{database_url}"\n  privacy:\n    retention:\n'
        "      raw_payload_days: 30\n",
        encoding="utf-8",
    )
    assert main(["--config", str(config), "retention", "--dry-run"]) == 2
    assert "raw_payload_days" in capsys.readouterr().err


def test_the_daily_job_applies_the_policy_once_a_day(engine: sa.Engine) -> None:
    from bot.privacy.worker import RetentionWorker, build_worker

    clock = FakeClock(MONDAY_10)
    app = _resident_on_three_channels(engine, clock)
    worker = build_worker(app)
    assert isinstance(worker, RetentionWorker)
    assert worker.run_once() is not None  # never applied: now
    clock.advance(hours=23)
    assert worker.run_once() is None  # applied less than a day ago
    clock.advance(days=90)
    done = worker.run_once()
    assert done is not None and done.raw_payloads == 4
    assert _count(engine, t.events, t.events.c.kind == "retention_applied") == 2
    app.settings.privacy.daily_retention = False
    assert build_worker(app) is None


def test_sar_export_and_erase_commands(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for name in list(os.environ):
        if name.upper().startswith("DOORSTEP_"):
            monkeypatch.delenv(name)
    engine = create_engine(database_url)
    try:
        migrate(engine)
        _resident_on_three_channels(engine, FakeClock(MONDAY_10)).close()
    finally:
        engine.dispose()
    config = tmp_path / "config.yml"
    config.write_text(f'doorstep:\n  database_url: "{database_url}"\n', encoding="utf-8")
    out = tmp_path / "export"
    argv = ["--config", str(config), "sar", "export", "--phone", "07700 900555"]
    assert main([*argv, "--out", str(out), "--received", "2026-12-01"]) == 0
    printed = capsys.readouterr().out
    # One month from 1 December is New Year's Day, a bank holiday: the next working day.
    assert "answer due by 4 January 2027" in printed and "Check it before sending" in printed
    assert "the boiler is broken too" in (out / "sar.json").read_text(encoding="utf-8")

    assert main(["--config", str(config), "sar", "export", "--email", "nobody@x.example"]) == 2
    assert "nothing is held" in capsys.readouterr().err
    erase = ["--config", str(config), "sar", "erase", "--email", JO, "--reason", "DPO ok"]
    assert main([*erase, "--dry-run"]) == 0
    assert "Would anonymise 0 closed case(s)" in capsys.readouterr().out
