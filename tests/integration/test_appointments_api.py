"""The appointments API over HTTP (httpx in-process) and the CSV import command."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from bot.bootstrap import bootstrap
from bot.cli import main
from bot.domain.model import Channel
from bot.domain.safety import GAS_ADVICE
from bot.storage.tables_sms import appointments
from bot.web.app import create_app
from channels.base import CollectingSender
from tests.fakes import FakeClock, KeywordClassifier
from tests.support.fake_twilio import API_TOKEN, sms_settings

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
JOB = {
    "job_ref": "J-2001",
    "resident_name": "Sam Patel",
    "phone": "07700 900456",
    "email": "sam@example.net",
    "address": "12 Quay Street, Hull",
    "date": "2026-12-01",
    "slot": "10:00-12:00",
    "trade": "Electrical",
}


@pytest.fixture
async def client(engine: sa.Engine) -> AsyncIterator[httpx.AsyncClient]:
    app = bootstrap(
        sms_settings(),
        engine=engine,
        classifier=KeywordClassifier(),
        senders=[CollectingSender(Channel.SMS)],
        decoders={},
        now=FakeClock(NOW),
        run_migrations=False,
    )
    transport = httpx.ASGITransport(app=create_app(app, run_workers=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_token_is_required(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/appointments", json=JOB)).status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (await client.post("/api/appointments", json=JOB, headers=wrong)).status_code == 401
    assert (await client.get("/api/appointments/J-2001")).status_code == 401


async def test_schedule_update_cancel_and_read(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/appointments", json=JOB, headers=AUTH)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["phone"] == "+447700900456" and body["slot"] == "10:00-12:00"
    assert [t["kind"] for t in body["texts"]] == ["appointment_scheduled"]
    again = await client.post("/api/appointments", json=JOB, headers=AUTH)
    assert again.status_code == 200  # a retry is harmless
    clash = await client.post("/api/appointments", json={**JOB, "slot": "pm"}, headers=AUTH)
    assert clash.status_code == 409 and "PUT" in clash.json()["detail"]
    moved = await client.put("/api/appointments/J-2001", json={"slot": "pm"}, headers=AUTH)
    assert moved.status_code == 200 and moved.json()["slot"] == "pm"
    patched = await client.patch(
        "/api/appointments/J-2001", json={"trade": "Electrics"}, headers=AUTH
    )
    assert patched.json()["trade"] == "Electrics"
    cancelled = await client.post(
        "/api/appointments/J-2001/cancel", json={"reason": "parts are late"}, headers=AUTH
    )
    assert cancelled.json()["status"] == "cancelled"
    got = await client.get("/api/appointments/J-2001", headers=AUTH)
    assert [t["kind"] for t in got.json()["texts"]] == [
        "appointment_scheduled",
        "appointment_moved",
        "appointment_cancelled",
    ]
    done = await client.post("/api/appointments/J-2001/complete", headers=AUTH)
    assert done.status_code == 409  # a cancelled job cannot be completed


async def test_the_assistant_sees_and_changes_only_the_residents_own_appointments(
    client: httpx.AsyncClient,
) -> None:
    """/api/assistant/appointments* answered 501 (looked up by name, never there)."""
    assert (await client.post("/api/appointments", json=JOB, headers=AUTH)).status_code in (
        200,
        201,
    )
    mine = {"sender": "+447700900456", "channel": "sms"}
    found = await client.get("/api/assistant/appointments", params=mine, headers=AUTH)
    assert found.status_code == 200
    (job,) = found.json()["appointments"]
    assert job["job_reference"] == "J-2001" and "1 December" in job["when"]
    other = {"sender": "+447700900999", "channel": "sms"}
    assert (await client.get("/api/assistant/appointments", params=other, headers=AUTH)).json() == {
        "appointments": []
    }
    request = {"conversation_id": "c-1", "channel": "sms", "action": "cancel"}
    stranger = await client.post(
        "/api/assistant/appointments/J-2001",
        json={**request, "sender": "+447700900999"},
        headers=AUTH,
    )
    assert stranger.status_code == 404  # PRIVACY: not theirs, not touched
    change = await client.post(
        "/api/assistant/appointments/J-2001",
        json={**request, "action": "change", "preferred": "Friday", "sender": "+447700900456"},
        headers=AUTH,
    )
    assert change.status_code == 200 and "contact you" in change.json()["message"]
    cancel = await client.post(
        "/api/assistant/appointments/J-2001",
        json={**request, "sender": "+447700900456"},
        headers=AUTH,
    )
    assert cancel.status_code == 200 and "We have cancelled" in cancel.json()["message"]
    assert (await client.get("/api/assistant/appointments", params=mine, headers=AUTH)).json() == {
        "appointments": []
    }


async def test_complete_asks_about_the_work(client: httpx.AsyncClient) -> None:
    await client.post("/api/appointments", json=JOB, headers=AUTH)
    done = await client.post("/api/appointments/J-2001/complete", headers=AUTH)
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert done.json()["texts"][-1]["kind"] == "after_job"


async def test_bad_input_gets_clear_422s(client: httpx.AsyncClient) -> None:
    bad = await client.post(
        "/api/appointments",
        json={**JOB, "phone": "12345", "date": "2026-11-01", "slot": "teatime", "extra": 1},
        headers=AUTH,
    )
    assert bad.status_code == 422
    problems = {d["loc"][-1]: d["msg"] for d in bad.json()["detail"]}
    assert set(problems) == {"phone", "date", "slot", "extra"}
    assert "in the past" in problems["date"]
    assert "am, pm" in problems["slot"]
    not_json = await client.post("/api/appointments", content=b"{", headers=AUTH)
    assert not_json.status_code == 422
    a_list = await client.post("/api/appointments", json=[JOB], headers=AUTH)
    assert a_list.status_code == 422
    missing = await client.get("/api/appointments/NOPE", headers=AUTH)
    assert missing.status_code == 404


def test_csv_import_reports_bad_rows_by_line_and_imports_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "cli.db"
    monkeypatch.setenv("DOORSTEP_DATABASE_URL", f"sqlite:///{db}")
    config = tmp_path / "config.yml"
    config.write_text("doorstep: {}\n", encoding="utf-8")
    csv_file = tmp_path / "jobs.csv"
    csv_file.write_text(
        "job_ref,resident_name,phone,email,address,date,slot,trade\n"
        'J-1,Jane Smith,07700 900123,jane@example.net,"4 Mill Lane, Leeds",2099-12-01,am,Plumbing\n'
        "J-2,Bob,not a phone,,1 High St,2099-12-02,pm,Joinery\n"
        "J-3,,07700 900124,,2 High St,2099-13-40,pm,Joinery\n"
        "J-4,,07700 900125,,3 High St,2099-12-03,all day,Roofing\n",
        encoding="utf-8",
    )
    status = main(["--config", str(config), "appointments", "import", str(csv_file)])
    out, err = capsys.readouterr()
    assert status == 1
    assert f"{csv_file}:3: phone:" in err
    assert f"{csv_file}:4: date:" in err
    assert "2 scheduled" in out and "2 bad" in out
    # Importing the same file again sends nothing twice.
    main(["--config", str(config), "appointments", "import", str(csv_file)])
    out, _ = capsys.readouterr()
    assert "0 scheduled" in out and "2 unchanged" in out
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        refs = conn.execute(sa.select(appointments.c.job_ref).order_by(appointments.c.id)).all()
    engine.dispose()
    assert [r.job_ref for r in refs] == ["J-1", "J-4"]
    assert main(["--config", str(config), "appointments", "list"]) == 0
    listing, _ = capsys.readouterr()
    assert "J-1\t2099-12-01\tam\tscheduled" in listing


def test_csv_without_the_needed_columns_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "jobs.csv"
    csv_file.write_text("job,phone\nJ-1,07700 900123\n", encoding="utf-8")
    assert main(["appointments", "import", str(csv_file)]) == 2
    assert "missing: job_ref" in capsys.readouterr().err


async def test_an_emergency_registered_by_the_assistant_comes_with_what_to_do_now(
    client: httpx.AsyncClient,
) -> None:
    """Rasa's emergency reply opens with Doorstep's one set of safety advice."""
    found = await client.post(
        "/api/assistant/interactions",
        json={
            "conversation_id": "chat-gas",
            "channel": "webchat",
            "sender": "chat-gas",
            "topic": "repair",
            "urgency": "emergency",
            "hazards": ["gas"],
            "summary": "smell of gas in the kitchen",
        },
        headers=AUTH,
    )
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["urgency"] == "emergency"
    assert body["safety"] == [GAS_ADVICE]
