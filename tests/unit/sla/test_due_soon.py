"""The one "due soon" rule (issue 18, sla/due_soon.py): the last `sla.due_soon_fraction` of
each promise's own length, in office time for a working-day promise and clock time for the
others; the same answer whether read from the clock's side (the stored warning time) or
from now's side (the deadline range a database counts); and one setting for it."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.bootstrap import build_policies
from bot.settings import Settings, SettingsError, load_settings
from sla import LONDON, PRESETS, Calendar, Clock, OfficeHours, Policy, SlaConfigError
from sla.due_soon import (
    BREACHED,
    DUE_SOON,
    attention_state,
    check_fraction,
    due_soon_from,
    due_soon_until,
    lead,
)
from sla.policies import Unit

ENGLAND = Calendar()


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def state(policy: Policy | None, due: datetime, now: datetime, fraction: float = 0.2) -> str | None:
    return attention_state(policy, due_at=due, now=now, fraction=fraction, calendar=ENGLAND)


def test_a_20_working_day_promise_is_due_soon_for_its_last_4_working_days() -> None:
    stage2 = PRESETS["complaint-stage2-response"]
    assert (stage2.amount, stage2.unit) == (20, Unit.WORKING_DAYS)
    assert lead(stage2, 0.2, ENGLAND) == timedelta(hours=32)  # 4 office days of 8 hours
    due = london(2027, 2, 26, 17)  # a Friday's close
    # Due soon from Monday's close: Tuesday, Wednesday, Thursday and Friday are left.
    assert due_soon_from(stage2, due, london(2027, 1, 29, 10), 0.2, ENGLAND) == london(
        2027, 2, 22, 17
    )
    assert state(stage2, due, london(2027, 2, 22, 16, 59)) is None
    assert state(stage2, due, london(2027, 2, 22, 17)) == DUE_SOON
    assert state(stage2, due, london(2027, 2, 23, 8)) == DUE_SOON  # before Tuesday opens
    assert state(stage2, due, london(2027, 2, 19, 12)) is None  # a week before: not yet


def test_awaabs_24_hours_are_due_soon_for_their_last_4_hours_48_minutes() -> None:
    emergency = PRESETS["awaab-emergency"]
    assert lead(emergency, 0.2, ENGLAND) == timedelta(hours=4, minutes=48)
    started = london(2026, 12, 26, 12)  # Boxing Day, a Saturday: clock hours all the same
    due = emergency.deadline(started, ENGLAND)
    assert due == london(2026, 12, 27, 12)
    assert due_soon_from(emergency, due, started, 0.2, ENGLAND) == london(2026, 12, 27, 7, 12)
    assert state(emergency, due, london(2026, 12, 27, 7, 11, 59)) is None
    assert state(emergency, due, london(2026, 12, 27, 7, 12)) == DUE_SOON
    assert state(emergency, due, due) == DUE_SOON  # still in time at the due time
    assert state(emergency, due, due + timedelta(seconds=1)) == BREACHED


def test_a_one_working_day_promise_is_due_soon_for_its_last_fifth_of_a_day() -> None:
    asb = PRESETS["asb-urgent-1"]
    started = london(2026, 12, 4, 10)  # a Friday: due at Monday's close
    due = asb.deadline(started, ENGLAND)
    assert due == london(2026, 12, 7, 17)
    assert lead(asb, 0.2, ENGLAND) == timedelta(hours=1, minutes=36)
    assert due_soon_from(asb, due, started, 0.2, ENGLAND) == london(2026, 12, 7, 15, 24)
    assert state(asb, due, london(2026, 12, 7, 15, 23)) is None
    assert state(asb, due, london(2026, 12, 7, 15, 24)) == DUE_SOON


def test_close_of_business_today_counts_as_a_one_day_promise() -> None:
    today = Policy("today", "P", "s", 0)
    assert lead(today, 0.2, ENGLAND) == timedelta(hours=1, minutes=36)
    received = london(2026, 12, 7, 16)  # an hour before close: due soon at once
    due = today.deadline(received, ENGLAND)
    assert due_soon_from(today, due, received, 0.2, ENGLAND) == received  # never before start


def test_office_hours_set_the_length_of_a_working_day() -> None:
    days = dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "08:00-18:00")
    long_days = Calendar(office_hours=OfficeHours.from_mapping(days))
    assert lead(PRESETS["respond-10"], 0.2, long_days) == timedelta(hours=20)  # 2 days of 10


def test_the_share_is_settable() -> None:
    respond = PRESETS["respond-10"]
    due = london(2026, 12, 18, 17)  # Friday
    now = london(2026, 12, 14, 17)  # Monday's close: 4 working days left
    assert state(respond, due, now, 0.2) is None
    assert state(respond, due, now, 0.4) == DUE_SOON
    assert state(respond, due, london(2026, 12, 7, 9), 1.0) == DUE_SOON  # from the start


def test_a_clock_whose_policy_is_gone_uses_its_stored_warning_time() -> None:
    due, warn = london(2026, 12, 7, 17), london(2026, 12, 7, 13)
    at = lambda now: attention_state(  # noqa: E731
        None, due_at=due, warn_at=warn, now=now, fraction=0.2, calendar=ENGLAND
    )
    assert at(london(2026, 12, 7, 12)) is None
    assert at(warn) == DUE_SOON
    assert at(due + timedelta(minutes=1)) == BREACHED
    assert state(None, due, london(2026, 12, 7, 16)) is None  # no stored time: never soon


def test_the_stored_warning_time_follows_the_rule() -> None:
    for name in ("ack-2", "respond-10", "awaab-emergency", "sar", "email-ack-now"):
        policy = PRESETS[name]
        clock = Clock.start(policy, london(2026, 12, 3, 11), ENGLAND)
        assert clock.warn_at == due_soon_from(policy, clock.due_at, clock.started_at, 0.2, ENGLAND)


@pytest.mark.parametrize(
    "name", ["ack-2", "respond-10", "complaint-stage2-response", "asb-urgent-1", "awaab-emergency"]
)
def test_both_sides_of_the_rule_agree_at_any_moment(name: str) -> None:
    """now >= due_soon_from(due) exactly when due <= due_soon_until(now): the stored warning
    time, the alerts and the queue's deadline ranges say the same thing."""
    policy = PRESETS[name]
    rng = random.Random(18)
    start = london(2026, 12, 18, 9)  # across Christmas and New Year's bank holidays
    for _ in range(400):
        received = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 14))
        due = policy.deadline(received, ENGLAND)
        warn = due_soon_from(policy, due, received, 0.2, ENGLAND)
        now = received + (due - received) * rng.random()
        soon = due <= due_soon_until(policy, now, 0.2, ENGLAND)
        assert (now >= warn) == soon, (received, now, due, warn)


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, True, "0.2", None])
def test_a_share_outside_0_to_1_is_refused_with_the_key(bad: object) -> None:
    with pytest.raises(SlaConfigError, match=r"sla\.due_soon_fraction"):
        check_fraction(bad)
    assert check_fraction(1) == 1.0


# --------------------------------------------------------------------------- one setting


def _settings(tmp_path: Path, text: str) -> Settings:
    config = tmp_path / "config.yml"
    config.write_text("doorstep:\n" + text)
    return load_settings(config)


def test_one_setting_reaches_the_policies(tmp_path: Path) -> None:
    settings = _settings(tmp_path, "  sla: {due_soon_fraction: 0.25}\n")
    assert settings.sla.due_soon_fraction == 0.25
    assert {p.due_soon_fraction for p in build_policies(settings).values()} == {0.25}
    assert Settings().sla.due_soon_fraction == 0.2


@pytest.mark.parametrize("old", ["dashboard", "alerts"])
def test_the_first_keys_still_work_as_aliases(tmp_path: Path, old: str) -> None:
    settings = _settings(tmp_path, f"  {old}: {{due_soon_fraction: 0.3}}\n")
    assert settings.sla.due_soon_fraction == 0.3


def test_keys_that_disagree_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"due soon is one setting, sla\.due_soon_fraction"):
        _settings(tmp_path, "  sla: {due_soon_fraction: 0.2}\n  alerts: {due_soon_fraction: 0.5}\n")


def test_the_old_half_day_key_names_its_replacement(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"replaced by sla\.due_soon_fraction"):
        _settings(tmp_path, "  sla: {warn_fraction: 0.5}\n")


@pytest.mark.parametrize("bad", ["0", "1.5", "soon"])
def test_a_bad_share_names_the_key(tmp_path: Path, bad: str) -> None:
    with pytest.raises(SettingsError, match=r"sla\.due_soon_fraction"):
        _settings(tmp_path, f"  sla: {{due_soon_fraction: {bad}}}\n")
