"""One worked deadline per preset policy, the elapsed units, and configuration overrides."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from sla import (
    LONDON,
    PRESETS,
    Calendar,
    Policy,
    SlaConfigError,
    SlaError,
    Unit,
    load_policies,
    policy_named,
)

ENGLAND = Calendar()
# Thursday 24 December 2026, 10:00 GMT. Working days after it (day 0): 29 Dec (1), 30 (2),
# 31 (3), 4 Jan (4), 5 (5), ... 12 Jan (10), ... 26 Jan (20); 25 and 28 Dec and 1 Jan are
# bank holidays.
RECEIVED = datetime(2026, 12, 24, 10, tzinfo=LONDON)

# name -> (promise id, deadline for RECEIVED in England and Wales, 09:00-17:00)
EXPECTED: dict[str, tuple[str, str]] = {
    "email-ack-now": ("EMAIL-NOW", "2026-12-24T10:15:00+00:00"),
    "ack-2": ("ACK-2", "2026-12-30T17:00:00+00:00"),
    "respond-10": ("RESP-10", "2027-01-12T17:00:00+00:00"),
    "respond-10-holding": ("RESP-10", "2027-01-12T17:00:00+00:00"),
    "email-3": ("EMAIL-NOW", "2026-12-31T17:00:00+00:00"),
    "email-urgent-1": ("EMAIL-NOW", "2026-12-29T17:00:00+00:00"),
    "handoff-3": ("HANDOFF", "2026-12-31T17:00:00+00:00"),
    "handoff-urgent-1": ("HANDOFF", "2026-12-29T17:00:00+00:00"),
    "asb-urgent-1": ("ASB", "2026-12-29T17:00:00+00:00"),
    "asb-routine-5": ("ASB", "2027-01-05T17:00:00+00:00"),
    "voicemail": ("VOICEMAIL", "2026-12-29T17:00:00+00:00"),
    "social": ("SOCIAL", "2026-12-29T17:00:00+00:00"),
    "letter-10": ("LETTER", "2027-01-12T17:00:00+00:00"),
    "written-simple-3": ("WRITTEN-3/10", "2026-12-31T17:00:00+00:00"),
    "written-complex-10": ("WRITTEN-3/10", "2027-01-12T17:00:00+00:00"),
    "complaint-procedure-1": ("COMPLAINT", "2026-12-29T17:00:00+00:00"),
    "complaint-stage1-ack": ("COMPLAINT", "2027-01-05T17:00:00+00:00"),
    "complaint-stage1-response": ("COMPLAINT", "2027-01-12T17:00:00+00:00"),
    "complaint-stage2-ack": ("COMPLAINT", "2027-01-05T17:00:00+00:00"),
    "complaint-stage2-response": ("COMPLAINT", "2027-01-26T17:00:00+00:00"),
    "after-job-2": ("AFTER-JOB", "2026-12-30T17:00:00+00:00"),
    # 24 clock hours: Christmas Day is no exception.
    "awaab-emergency": ("EMERGENCY", "2026-12-25T10:00:00+00:00"),
    "awaab-investigate": ("EMERGENCY", "2027-01-12T17:00:00+00:00"),
    "awaab-summary": ("EMERGENCY", "2026-12-31T17:00:00+00:00"),
    # One month: 24 January 2027 is a Sunday, so Monday 25th, to the end of the day.
    "sar": ("PRIVACY", "2027-01-25T23:59:59+00:00"),
}

# The list of presets that must exist.
REQUIRED = [
    "ack-2",
    "respond-10",
    "email-3",
    "email-urgent-1",
    "handoff-3",
    "handoff-urgent-1",
    "asb-urgent-1",
    "asb-routine-5",
    "voicemail",
    "social",
    "letter-10",
    "complaint-procedure-1",
    "complaint-stage1-ack",
    "complaint-stage1-response",
    "complaint-stage2-ack",
    "complaint-stage2-response",
    "after-job-2",
    "awaab-emergency",
    "awaab-investigate",
    "awaab-summary",
    "sar",
]

# Promise ids of ../shared/domain.md.
DOMAIN_PROMISES = {
    "ACK-2", "RESP-10", "EMAIL-NOW", "HANDOFF", "ASB", "VOICEMAIL", "SOCIAL", "LETTER",
    "WRITTEN-3/10", "LATE", "COMPLAINT", "OOO", "TEAM-RECEIPT", "AUTO-ACK", "SAME-CHANNEL",
    "APPT", "AFTER-JOB", "EMERGENCY", "HOURS", "CONTACT", "ACCESS", "PRIVACY", "ABUSE",
    "MONITOR",
}  # fmt: skip


def test_every_required_preset_exists_and_every_preset_has_a_worked_example() -> None:
    assert set(REQUIRED) <= set(PRESETS)
    assert set(EXPECTED) == set(PRESETS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_deadline(name: str) -> None:
    policy = PRESETS[name]
    promise, deadline = EXPECTED[name]
    assert policy.name == name
    assert policy.promise == promise
    assert policy.promise in DOMAIN_PROMISES
    assert policy.source
    assert policy.deadline(RECEIVED, ENGLAND).isoformat() == deadline
    # The same instant given in UTC or naive London time gives the same deadline.
    assert policy.deadline(RECEIVED.astimezone(UTC), ENGLAND).isoformat() == deadline
    assert policy.deadline(RECEIVED.replace(tzinfo=None), ENGLAND).isoformat() == deadline


def test_the_code_and_awaabs_law_presets_cite_them() -> None:
    for name in (
        "complaint-stage1-ack",
        "complaint-stage1-response",
        "complaint-stage2-ack",
        "complaint-stage2-response",
    ):
        assert "Complaint Handling Code 2024" in PRESETS[name].source
    for name in ("awaab-emergency", "awaab-investigate", "awaab-summary"):
        assert "Awaab's Law" in PRESETS[name].source
    assert PRESETS["complaint-stage1-response"].starts_from == "acknowledgement"
    assert PRESETS["complaint-stage1-response"].max_extension == 10
    assert PRESETS["complaint-stage2-response"].max_extension == 20
    assert PRESETS["complaint-stage2-ack"].starts_from == "escalation"


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("ack-2", "2 working days from receipt"),
        ("voicemail", "end of the next working day from receipt"),
        ("email-ack-now", "15 minutes from receipt"),
        ("awaab-emergency", "24 hours (clock hours, weekends included) from receipt"),
        ("sar", "one month from receipt; may be extended by up to 2 months"),
        (
            "complaint-stage1-response",
            "10 working days from acknowledgement; may be extended by up to 10 working days",
        ),
    ],
)
def test_describe(name: str, text: str) -> None:
    assert PRESETS[name].describe() == text


def test_describe_other_units() -> None:
    assert Policy("x", "P", "s", 0).describe() == "close of business on the day of receipt"
    assert Policy("x", "P", "s", 1, Unit.CALENDAR_DAYS).describe() == "1 calendar day from receipt"
    assert Policy("x", "P", "s", 3, Unit.MONTHS).describe() == "3 months from receipt"


# --------------------------------------------------------------------------- elapsed units


def test_calendar_days_end_at_the_end_of_the_nth_day() -> None:
    policy = Policy("seven-days", "P", "s", 7, Unit.CALENDAR_DAYS)
    assert policy.deadline(datetime(2026, 10, 20, 18), ENGLAND).isoformat() == (
        "2026-10-27T23:59:59+00:00"  # across the autumn change
    )


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (datetime(2026, 1, 5, 10), "2026-02-05T23:59:59+00:00"),  # same date next month
        (datetime(2026, 1, 31, 10), "2026-03-02T23:59:59+00:00"),  # 28 Feb is a Saturday
        (datetime(2028, 1, 31, 10), "2028-02-29T23:59:59+00:00"),  # a leap year
        (datetime(2026, 3, 31, 10), "2026-04-30T23:59:59+01:00"),  # no 31 April
        (datetime(2026, 11, 25, 10), "2026-12-29T23:59:59+00:00"),  # 25, 28 Dec holidays
        (datetime(2026, 12, 15, 23, 30), "2027-01-15T23:59:59+00:00"),  # over the year end
    ],
)
def test_one_month_follows_the_ico_rule(received: datetime, due: str) -> None:
    assert PRESETS["sar"].deadline(received, ENGLAND).isoformat() == due


def test_sar_extension_adds_months() -> None:
    assert PRESETS["sar"].deadline(datetime(2026, 1, 5, 10), ENGLAND, extra=2).isoformat() == (
        "2026-04-07T23:59:59+01:00"  # 5 April is Easter Sunday, 6th Easter Monday
    )


def test_minutes_are_elapsed_time() -> None:
    # "Immediately" at Saturday midnight is still 15 minutes.
    policy = PRESETS["email-ack-now"]
    assert policy.deadline(datetime(2026, 6, 6, 23, 50), ENGLAND).isoformat() == (
        "2026-06-07T00:05:00+01:00"
    )


def test_office_hours_move_working_day_deadlines_only() -> None:
    from sla import OfficeHours

    fridays = Calendar(office_hours=OfficeHours.from_mapping({"fri": "08:30-16:45"}))
    # Only Fridays open: 25 December and 1 January are bank holidays, so day 0 is 8 January.
    assert PRESETS["ack-2"].deadline(RECEIVED, fridays).isoformat() == ("2027-01-22T16:45:00+00:00")
    for name in ("awaab-emergency", "email-ack-now"):
        assert PRESETS[name].deadline(RECEIVED, fridays) == PRESETS[name].deadline(
            RECEIVED, ENGLAND
        )


# --------------------------------------------------------------------------- warnings


def test_warn_at_for_working_days_is_the_last_fifth_of_the_promise() -> None:
    policy = PRESETS["ack-2"]  # 20 % of 2 working days: 3 hours 12 minutes of office time
    due = policy.deadline(RECEIVED, ENGLAND)
    assert policy.warn_at(due, RECEIVED, ENGLAND).isoformat() == "2026-12-30T13:48:00+00:00"


def test_warn_at_for_elapsed_policies_is_the_last_fifth_of_the_target() -> None:
    emergency = PRESETS["awaab-emergency"]  # 20 % of 24 hours: 4 hours 48 minutes
    due = emergency.deadline(RECEIVED, ENGLAND)
    assert emergency.warn_at(due, RECEIVED, ENGLAND).isoformat() == "2026-12-25T05:12:00+00:00"
    sar = PRESETS["sar"]  # 20 % of a month (a twelfth of a year): 6 days 2 hours 6 minutes
    due = sar.deadline(RECEIVED, ENGLAND)
    assert sar.warn_at(due, RECEIVED, ENGLAND).isoformat() == "2027-01-19T21:53:59+00:00"


def test_warn_at_is_never_before_the_start() -> None:
    policy = Policy("today", "P", "s", 0, due_soon_fraction=1)
    received = datetime(2026, 6, 1, 16, tzinfo=LONDON)
    due = policy.deadline(received, ENGLAND)
    assert policy.warn_at(due, received, ENGLAND) == received


# --------------------------------------------------------------------------- configuration


def test_load_policies_without_overrides_is_the_presets() -> None:
    assert load_policies() == PRESETS
    assert load_policies({}) == PRESETS


def test_override_a_preset_amount() -> None:
    policies = load_policies({"ack-2": {"amount": 3}})
    assert policies["ack-2"].amount == 3
    assert policies["ack-2"].promise == "ACK-2"  # other fields kept
    assert policies["ack-2"].deadline(RECEIVED, ENGLAND).isoformat() == (
        "2026-12-31T17:00:00+00:00"
    )
    assert PRESETS["ack-2"].amount == 2  # presets untouched


def test_override_the_unit_in_words() -> None:
    policies = load_policies({"voicemail": {"amount": 4, "unit": "Hours"}})
    assert policies["voicemail"].unit is Unit.HOURS
    assert policies["voicemail"].deadline(RECEIVED, ENGLAND).isoformat() == (
        "2026-12-24T14:00:00+00:00"
    )


def test_a_new_policy_from_configuration() -> None:
    policies = load_policies(
        {
            "repair-urgent-7": {
                "promise": "LATE",
                "source": "our repairs policy",
                "amount": 7,
                "summary": "urgent repair",
            }
        }
    )
    policy = policies["repair-urgent-7"]
    assert policy.unit is Unit.WORKING_DAYS
    assert policy.deadline(RECEIVED, ENGLAND).isoformat() == "2027-01-07T17:00:00+00:00"


def test_the_due_soon_fraction_is_one_setting_for_every_policy() -> None:
    policies = load_policies({"mine": {"promise": "P", "source": "s", "amount": 3}}, 0.25)
    assert {p.due_soon_fraction for p in policies.values()} == {0.25}
    assert {p.due_soon_fraction for p in load_policies().values()} == {0.2}


def test_a_plain_string_unit_is_stored_as_the_member() -> None:
    policy = Policy("x", "P", "s", 24, "hours")  # type: ignore[arg-type]
    assert policy.unit is Unit.HOURS
    assert policy.deadline(RECEIVED, ENGLAND).isoformat() == "2026-12-25T10:00:00+00:00"


@pytest.mark.parametrize(
    ("overrides", "fraction", "key"),
    [
        ({"ack-2": {"amount": "three"}}, None, "sla.policies.ack-2.amount: 'three'"),
        ({"ack-2": {"amount": True}}, None, "sla.policies.ack-2.amount"),
        ({"ack-2": {"amount": -1}}, None, "sla.policies.ack-2.amount: must be 0 or more"),
        ({"awaab-emergency": {"amount": 0}}, None, "sla.policies.awaab-emergency.amount"),
        ({"ack-2": {"max_extension": 1.5}}, None, "sla.policies.ack-2.max_extension"),
        ({"ack-2": {"max_extension": -2}}, None, "sla.policies.ack-2.max_extension"),
        ({"ack-2": {"unit": "fortnights"}}, None, "sla.policies.ack-2.unit: 'fortnights'"),
        ({"ack-2": {"warn_fraction": 0.5}}, None, "set sla.due_soon_fraction"),
        ({"ack-2": {"due_soon_fraction": 0.5}}, None, "no longer per policy"),
        ({"ack-2": {"amout": 3}}, None, "sla.policies.ack-2: unknown field 'amout'; accepted"),
        ({"ack-2": 3}, None, "sla.policies.ack-2: expected a mapping"),
        ({"mine": {"amount": 3}}, None, "sla.policies.mine: a new policy needs promise, source"),
        (None, 7, "sla.due_soon_fraction: 7"),
        (None, 0, "sla.due_soon_fraction: 0 is not"),
        (None, "soon", "sla.due_soon_fraction"),
    ],
)
def test_bad_policy_configuration_names_the_key(
    overrides: dict[str, Any] | None, fraction: Any, key: str
) -> None:
    with pytest.raises(SlaConfigError) as raised:
        load_policies(overrides, due_soon_fraction=fraction)
    assert key in str(raised.value)


def test_policy_named_lists_the_accepted_names() -> None:
    assert policy_named(PRESETS, "sar") is PRESETS["sar"]
    with pytest.raises(SlaError, match=r"unknown policy 'nope'; accepted: ack-2, after-job-2"):
        policy_named(PRESETS, "nope")


def test_sar_moves_to_the_divisions_next_working_day() -> None:
    # One month from 2 December 2026 is Saturday 2 January 2027; Monday 4th is Scotland's
    # substitute for 2 January, so Scotland answers on the 5th and England on the 4th.
    received = datetime(2026, 12, 2, 10)
    assert PRESETS["sar"].deadline(received, Calendar("scotland")).date() == date(2027, 1, 5)
    assert PRESETS["sar"].deadline(received, ENGLAND).date() == date(2027, 1, 4)
