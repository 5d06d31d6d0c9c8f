"""`doorstep sla due|policies|calendar|report` through bot.cli.main, with a config file of the
test's own (so the repository's config.yml, with its 17:15 close, does not apply) and, for
the report, clocks stored in a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.cli import main
from bot.storage import tables as t
from bot.storage.db import create_engine, migrate
from sla import PRESETS

pytestmark = pytest.mark.integration


def write_config(tmp_path: Path, sla: str = "") -> Path:
    config = tmp_path / "config.yml"
    config.write_text(
        f"doorstep:\n  database_url: sqlite:///{tmp_path / 'doorstep.db'}\n{sla}",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Nothing from the environment may change the calendar under test.
    for name in list(os.environ):
        if name.upper().startswith("DOORSTEP_SLA") or name.upper() in (
            "DOORSTEP_CONFIG",
            "DOORSTEP_DATABASE_URL",
        ):
            monkeypatch.delenv(name)
    return write_config(tmp_path)


def run(config: Path, *argv: str) -> int:
    return main(["--config", str(config), "sla", *argv])


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


# --------------------------------------------------------------------------- due


@pytest.mark.parametrize(
    ("argv", "printed"),
    [
        # Thursday 24 December 2026: 25 and 28 December are bank holidays.
        (("--policy", "ack-2", "--received", "2026-12-24T10:00"), "2026-12-30T17:00:00+00:00"),
        (("--policy", "voicemail", "--received", "2026-12-24T10:00"), "2026-12-29T17:00:00+00:00"),
        # Issue examples: Monday 10:00 + 2 and Friday 18:00 + 2.
        (("--policy", "ack-2", "--received", "2026-06-01T10:00"), "2026-06-03T17:00:00+01:00"),
        (("--policy", "ack-2", "--received", "2026-06-05T18:00"), "2026-06-10T17:00:00+01:00"),
        # An offset is honoured: 16:30 UTC is 17:30 BST, after close.
        (
            ("--policy", "ack-2", "--received", "2026-06-01T16:30:00+00:00"),
            "2026-06-04T17:00:00+01:00",
        ),
        (("--policy", "ack-2", "--received", "2026-06-01T16:30Z"), "2026-06-04T17:00:00+01:00"),
        # Easter: Scotland has no Easter Monday.
        (("--policy", "ack-2", "--received", "2026-04-02T10:00"), "2026-04-08T17:00:00+01:00"),
        (
            ("--policy", "ack-2", "--received", "2026-04-02T10:00", "--division", "scotland"),
            "2026-04-07T17:00:00+01:00",
        ),
        (
            (
                "--policy",
                "ack-2",
                "--received",
                "2026-03-16T10:00",
                "--division",
                "northern-ireland",
            ),
            "2026-03-19T17:00:00+00:00",
        ),
        # Elapsed hours across the autumn change.
        (
            ("--policy", "awaab-emergency", "--received", "2026-10-24T12:00"),
            "2026-10-25T11:00:00+00:00",
        ),
        (("--policy", "sar", "--received", "2026-01-31T09:00"), "2026-03-02T23:59:59+00:00"),
    ],
)
def test_due(
    config: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], printed: str
) -> None:
    assert run(config, "due", *argv) == 0
    assert capsys.readouterr().out == printed + "\n"


def test_due_uses_the_configured_office_hours_closures_and_policies(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    landlord = write_config(
        tmp_path,
        "  sla:\n"
        "    office_hours: {mon: '08:30-17:15', tue: '08:30-17:15', wed: '08:30-17:15',"
        " thu: '08:30-17:15', fri: '08:30-16:45'}\n"
        "    closures: [2026-12-29, 2026-12-30, 2026-12-31]\n"
        "    policies: {ack-2: {amount: 3}}\n",
    )
    assert run(landlord, "due", "--policy", "ack-2", "--received", "2026-12-24T10:00") == 0
    # Day 0 Thursday 24th; 29-31 closed; 1 Jan holiday: 4 (1), 5 (2), 6 (3) January.
    assert capsys.readouterr().out == "2027-01-06T17:15:00+00:00\n"
    assert run(landlord, "due", "--policy", "ack-2", "--received", "2027-01-08T16:50") == 0
    assert capsys.readouterr().out == "2027-01-14T17:15:00+00:00\n"  # Friday after close


def test_a_gov_uk_file_in_the_config_wins(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = [{"title": "Christmas Day", "date": "2026-12-25"}]  # no Boxing Day substitute
    file = tmp_path / "bank-holidays.json"
    file.write_text(
        json.dumps({"england-and-wales": {"division": "england-and-wales", "events": events}}),
        encoding="utf-8",
    )
    cfg = write_config(tmp_path, f"  sla:\n    bank_holidays_file: {file}\n")
    assert run(cfg, "due", "--policy", "ack-2", "--received", "2026-12-24T10:00") == 0
    assert capsys.readouterr().out == "2026-12-29T17:00:00+00:00\n"
    assert run(cfg, "calendar", "--year", "2026") == 0
    assert capsys.readouterr().out == "2026-12-25  Fri  Christmas Day\n"


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ("--policy", "ack-3", "--received", "2026-12-24T10:00"),
            ["unknown policy 'ack-3'", "accepted: ack-2, after-job-2", "sar"],
        ),
        (
            ("--policy", "ack-2", "--received", "2026-12-24T10:00", "--division", "wales"),
            ["unknown division 'wales'", "accepted: england-and-wales, scotland, northern-ireland"],
        ),
        (
            ("--policy", "ack-2", "--received", "24/12/2026 10am"),
            ["--received: '24/12/2026 10am' is not an ISO 8601 time", "accepted: e.g."],
        ),
        (
            ("--policy", "ack-2", "--received", "1850-01-01T10:00"),
            ["dates must lie between 1900 and 2300"],
        ),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    config: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], words: list[str]
) -> None:
    assert run(config, "due", *argv) == 2
    line = one_error_line(capsys)
    assert line.startswith("doorstep: error: ")
    for word in words:
        assert word in line


def test_bad_configuration_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, "  sla:\n    office_hours: {mon: '9-5'}\n")
    assert run(cfg, "due", "--policy", "ack-2", "--received", "2026-12-24T10:00") == 2
    assert "sla.office_hours.mon: '9-5' is not a range like 08:30-17:15" in one_error_line(capsys)
    cfg = write_config(tmp_path, "  sla:\n    policies: {ack-2: {amount: two}}\n")
    assert run(cfg, "policies") == 2
    assert "sla.policies.ack-2.amount: 'two' is not a whole number" in one_error_line(capsys)


# --------------------------------------------------------------------------- policies


def test_policies_lists_every_policy_with_rule_promise_and_source(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(config, "policies") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(PRESETS)
    by_name = {line.split()[0]: line for line in lines}
    assert sorted(by_name) == sorted(PRESETS)
    for name, policy in PRESETS.items():
        assert policy.promise in by_name[name]
        assert policy.describe() in by_name[name]
        assert by_name[name].endswith(f"[{policy.source}]")
    assert "end of the next working day from receipt" in by_name["voicemail"]
    assert "24 hours (clock hours, weekends included)" in by_name["awaab-emergency"]


# --------------------------------------------------------------------------- calendar


def test_calendar_scotland_2026(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "calendar", "--year", "2026", "--division", "scotland") == 0
    out = capsys.readouterr().out
    assert "2026-01-02  Fri  New Year Holiday\n" in out
    assert "2026-11-30  Mon  Saint Andrew's Day\n" in out
    assert "2026-08-03  Mon  Summer Bank Holiday\n" in out
    assert "2026-04-06" not in out  # no Easter Monday in Scotland
    assert "2026-12-28  Mon  Boxing Day (observed)\n" in out
    dates = [line.split()[0] for line in out.splitlines()]
    assert dates == sorted(dates)


def test_calendar_england_2027(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "calendar", "--year", "2027") == 0
    dates = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert dates == [
        "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03",
        "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28",
    ]  # fmt: skip


def test_calendar_bad_division(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "calendar", "--year", "2026", "--division", "cornwall") == 2
    line = one_error_line(capsys)
    assert "unknown division 'cornwall'; accepted: england-and-wales" in line


def test_calendar_bad_year_is_a_usage_error(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        run(config, "calendar", "--year", "twenty")
    assert raised.value.code == 2
    assert "'twenty' is not a year between 1900 and 2300" in capsys.readouterr().err


# --------------------------------------------------------------------------- report


def at(month: int, day: int, hour: int = 12) -> datetime:
    # A past year: the report judges open clocks at the real time of the run.
    return datetime(2024, month, day, hour, tzinfo=UTC)


def fill(url: str) -> None:
    engine = create_engine(url)
    migrate(engine)

    def clock(
        policy: str, due: datetime, stopped: datetime | None = None, outcome: str | None = None,
        channel: str = "email", topic: str = "repair", paused: datetime | None = None,
    ) -> dict[str, object]:  # fmt: skip
        return {
            "interaction_id": 1,
            "policy": policy,
            "promise": PRESETS[policy].promise,
            "channel": channel,
            "topic": topic,
            "started_at": due - (due - at(9, 1)) / 2,
            "due_at": due,
            "warn_at": due,
            "paused_at": paused,
            "paused_seconds": 0.0,
            "extended_days": 0,
            "stopped_at": stopped,
            "outcome": outcome,
            "is_open": stopped is None,
        }

    with engine.begin() as conn:
        conn.execute(t.contacts.insert(), [{"id": 1, "name": "Resident", "needs": []}])
        conn.execute(
            t.interactions.insert(),
            [
                {
                    "id": 1,
                    "reference": "DS-2024-000001",
                    "contact_id": 1,
                    "channel": "email",
                    "topic": "repair",
                    "urgency": "routine",
                    "team": "repairs",
                }
            ],
        )
        conn.execute(
            t.clocks.insert(),
            [
                # October: ack-2 met 3 times, breached once (answered late in November).
                clock("ack-2", at(10, 5), at(10, 2), "met"),
                clock("ack-2", at(10, 6), at(10, 6, 9), "met", channel="sms"),
                clock("ack-2", at(10, 7), at(10, 7), "met", channel="webchat"),
                clock("ack-2", at(10, 30), at(11, 3), "breached"),
                # respond-10: one met, one still open and overdue.
                clock("respond-10", at(10, 20), at(10, 19), "met"),
                clock("respond-10", at(10, 21), topic="asb"),
                # Paused before its due time: waiting on the resident, not counted.
                clock("respond-10", at(10, 22), paused=at(10, 15)),
                # CH02.
                clock("complaint-stage1-response", at(10, 14), at(10, 12), "met"),
                clock("complaint-stage1-response", at(10, 15), at(10, 16), "breached"),
                clock("complaint-stage2-response", at(10, 28), at(10, 27), "met"),
                # Outside October: not counted.
                clock("ack-2", at(9, 10), at(9, 9), "met"),
                clock("ack-2", at(11, 10), at(11, 9), "met"),
                # Met in October though due in November.
                clock("social", at(11, 2), at(10, 31), "met", channel="facebook"),
            ],
        )
    engine.dispose()


def test_report(
    config: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fill(database_url)
    monkeypatch.setenv("DOORSTEP_DATABASE_URL", database_url)
    assert run(config, "report", "--from", "2024-10-01", "--to", "2024-11-01") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "Period 2024-10-01 to 2024-11-01 (clocks decided in it)"
    rows = {line.split("  ")[0]: line.split() for line in out if line and "  " in line}
    assert rows["2-ten: acknowledged in time"][-3:] == ["4", "1", "80.0%"]
    assert rows["2-ten: full response in 10 working days"][-3:] == ["1", "1", "50.0%"]
    assert rows["CH02: stage 1 complaints answered in time"][-3:] == ["1", "1", "50.0%"]
    assert rows["CH02: stage 2 complaints answered in time"][-3:] == ["1", "0", "100.0%"]
    assert rows["complaints procedure sent in 1 working day"][-3:] == ["0", "0", "-"]
    assert rows["ack-2"] == ["ack-2", "3", "1", "75.0%"]
    assert rows["respond-10"] == ["respond-10", "1", "1", "50.0%"]
    assert rows["social"] == ["social", "1", "0", "100.0%"]

    assert (
        run(config, "report", "--from", "2024-10-01", "--to", "2024-11-01", "--by", "channel,topic")
        == 0
    )
    out = capsys.readouterr().out
    assert "channel   topic   met  missed  share met" in out
    assert [line.split() for line in out.splitlines() if line.startswith("email")] == [
        ["email", "asb", "0", "1", "0.0%"],
        ["email", "repair", "4", "2", "66.7%"],
    ]


def test_report_bad_input(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "report", "--from", "2024-10-01", "--to", "2024-11-01", "--by", "team") == 2
    assert "--by: cannot group by 'team'; accepted: policy, promise, channel, topic" in (
        one_error_line(capsys)
    )
    assert run(config, "report", "--from", "2026-11-01", "--to", "2026-10-01") == 2
    assert "--to must be after --from" in one_error_line(capsys)


def test_report_on_an_empty_database(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "report", "--from", "2024-10-01", "--to", "2024-11-01") == 0
    out = capsys.readouterr().out
    ack = next(line for line in out.splitlines() if line.startswith("2-ten: acknowledged"))
    assert ack.split()[-3:] == ["0", "0", "-"]
    engine = create_engine(f"sqlite:///{config.parent / 'doorstep.db'}")
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.clocks)).scalar_one() == 0
    engine.dispose()


def test_report_counts_promises_as_they_were_settled(
    config: Path,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Closing keeps no promise: a case closed as "Repair booked" with an open
    awaab-emergency clock, and a complaint closed before it was acknowledged, are missed,
    not 100 % met; a withdrawn promise counts neither way."""
    engine = create_engine(database_url)
    migrate(engine)

    def settled(policy: str, due: datetime, stopped: datetime, outcome: str) -> dict[str, object]:
        return {
            "interaction_id": 1,
            "policy": policy,
            "promise": PRESETS[policy].promise,
            "channel": "email",
            "topic": "repair",
            "started_at": due - timedelta(days=1),
            "due_at": due,
            "warn_at": due,
            "paused_seconds": 0.0,
            "extended_days": 0,
            "stopped_at": stopped,
            "outcome": outcome,
            "outcome_reason": "closed as Repair booked",
            "is_open": False,
        }

    with engine.begin() as conn:
        conn.execute(t.contacts.insert(), [{"id": 1, "name": "Resident", "needs": []}])
        conn.execute(
            t.interactions.insert(),
            [
                {
                    "id": 1,
                    "reference": "DS-2024-000002",
                    "contact_id": 1,
                    "channel": "email",
                    "topic": "repair",
                    "urgency": "emergency",
                    "team": "repairs",
                    "status": "closed",
                }
            ],
        )
        conn.execute(
            t.clocks.insert(),
            [
                settled("awaab-emergency", at(10, 6), at(10, 5), "not_met"),
                settled("complaint-stage1-ack", at(10, 9), at(10, 5), "not_met"),
                settled("respond-10", at(10, 20), at(10, 5), "withdrawn"),
                settled("email-3", at(10, 8), at(10, 5), "met"),
            ],
        )
    engine.dispose()
    monkeypatch.setenv("DOORSTEP_DATABASE_URL", database_url)
    assert run(config, "report", "--from", "2024-10-01", "--to", "2024-11-01") == 0
    out = capsys.readouterr().out.splitlines()
    rows = {line.split("  ")[0]: line.split() for line in out if line and "  " in line}
    assert rows["awaab-emergency"] == ["awaab-emergency", "0", "1", "0.0%"]
    assert rows["complaint-stage1-ack"] == ["complaint-stage1-ack", "0", "1", "0.0%"]
    assert rows["email-3"] == ["email-3", "1", "0", "100.0%"]
    assert rows["respond-10"] == ["respond-10", "0", "0", "-"]  # withdrawn: set aside
    assert rows["2-ten: full response in 10 working days"][-3:] == ["0", "0", "-"]
