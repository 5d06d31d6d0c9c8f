"""Reports: which clocks a period counts, grouping, and the published headline figures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sla import LONDON, ClockRecord, ReportRow, headlines, share_met
from sla.reports import decided_in

OCTOBER = datetime(2026, 10, 1, tzinfo=LONDON)
NOVEMBER = datetime(2026, 11, 1, tzinfo=LONDON)
DECEMBER = datetime(2026, 12, 1, tzinfo=LONDON)


def at(day: int, month: int = 10, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=LONDON)


def record(
    policy: str = "ack-2",
    *,
    due: datetime,
    stopped: datetime | None = None,
    outcome: str | None = None,
    paused: datetime | None = None,
    channel: str | None = "email",
    topic: str | None = "repair",
    promise: str = "ACK-2",
) -> ClockRecord:
    return ClockRecord(policy, promise, channel, topic, due, stopped, outcome, paused)


@pytest.mark.parametrize(
    ("clock", "october", "november"),
    [
        # Met: counted when stopped.
        (record(due=at(10), stopped=at(9), outcome="met"), "met", None),
        (record(due=at(2, 11), stopped=at(30), outcome="met"), "met", None),
        (record(due=at(10), stopped=at(30, 9), outcome="met"), None, None),
        # Breached: counted when the due time passed, however late the answer came.
        (record(due=at(10), stopped=at(12), outcome="breached"), "breached", None),
        (record(due=at(30), stopped=at(3, 11), outcome="breached"), "breached", None),
        # Open and overdue: breached in the period of its due time.
        (record(due=at(20)), "breached", None),
        (record(due=at(5, 11)), None, "breached"),
        # Paused before its due time: waiting on the resident, not decided.
        (record(due=at(20), paused=at(15)), None, None),
        # Paused when already late: breached.
        (record(due=at(20), paused=at(25)), "breached", None),
    ],
)
def test_period_semantics(clock: ClockRecord, october: str | None, november: str | None) -> None:
    assert decided_in(clock, OCTOBER, NOVEMBER) == october
    assert decided_in(clock, NOVEMBER, DECEMBER) == november


def test_periods_are_half_open() -> None:
    on_the_boundary = record(due=NOVEMBER, stopped=NOVEMBER, outcome="met")
    assert decided_in(on_the_boundary, OCTOBER, NOVEMBER) is None
    assert decided_in(on_the_boundary, NOVEMBER, DECEMBER) == "met"


def test_open_clocks_not_yet_due_at_the_time_of_the_report_are_not_counted() -> None:
    clock = record(due=at(20))
    # A report for October run on 15 October: the clock may still be met.
    assert decided_in(clock, OCTOBER, NOVEMBER, now=at(15)) is None
    assert decided_in(clock, OCTOBER, NOVEMBER, now=at(21)) == "breached"
    assert decided_in(clock, OCTOBER, NOVEMBER, now=datetime(2026, 10, 20, 11, 1, tzinfo=UTC)) == (
        "breached"  # 12:01 BST
    )
    # Stopped clocks are decided whatever `now` says.
    met = record(due=at(20), stopped=at(10), outcome="met")
    assert decided_in(met, OCTOBER, NOVEMBER, now=at(15)) == "met"


def test_a_past_period_does_not_change_when_a_late_clock_is_answered() -> None:
    open_late = record(due=at(30))
    answered_late = record(due=at(30), stopped=at(4, 11), outcome="breached")
    for clock in (open_late, answered_late):
        rows = share_met([clock], OCTOBER, NOVEMBER, now=at(10, 11))
        assert rows == [ReportRow(("ack-2",), 0, 1)]
        assert share_met([clock], NOVEMBER, DECEMBER, now=at(10, 11)) == []


def test_share_met_groups_and_sorts() -> None:
    records = [
        record(due=at(10), stopped=at(9), outcome="met"),
        record(due=at(10), stopped=at(9), outcome="met", channel="sms"),
        record(due=at(10), stopped=at(11), outcome="breached"),
        record("respond-10", promise="RESP-10", due=at(20), stopped=at(19), outcome="met"),
        record("respond-10", promise="RESP-10", due=at(21), channel=None, topic="asb"),
        record(due=at(5, 11)),  # November: not counted
    ]
    by_policy = share_met(records, OCTOBER, NOVEMBER)
    assert by_policy == [ReportRow(("ack-2",), 2, 1), ReportRow(("respond-10",), 1, 1)]
    assert by_policy[0].decided == 3
    assert by_policy[0].share_met == pytest.approx(2 / 3)
    by_channel = share_met(records, OCTOBER, NOVEMBER, by=("channel", "topic"))
    assert by_channel == [
        ReportRow(("-", "asb"), 0, 1),
        ReportRow(("email", "repair"), 2, 1),
        ReportRow(("sms", "repair"), 1, 0),
    ]
    assert share_met(records, OCTOBER, NOVEMBER, by=("promise",))[1].key == ("RESP-10",)


def test_share_met_refuses_an_unknown_grouping() -> None:
    with pytest.raises(ValueError, match="cannot group by 'team'; accepted: policy, promise"):
        share_met([], OCTOBER, NOVEMBER, by=("team",))


def test_a_row_with_nothing_decided_has_no_share() -> None:
    assert ReportRow(("x",), 0, 0).share_met is None


def test_headlines() -> None:
    records = [
        record("ack-2", due=at(10), stopped=at(9), outcome="met"),
        record("email-ack-now", promise="EMAIL-NOW", due=at(9), stopped=at(9), outcome="met"),
        record("social", promise="SOCIAL", due=at(10)),  # open, overdue
        record("respond-10", promise="RESP-10", due=at(20), stopped=at(19), outcome="met"),
        record(
            "complaint-stage1-response", promise="COMPLAINT", due=at(20), stopped=at(22),
            outcome="breached",
        ),
        record(
            "complaint-stage2-response", promise="COMPLAINT", due=at(20), stopped=at(19),
            outcome="met",
        ),
        record("letter-10", promise="LETTER", due=at(10), stopped=at(9), outcome="met"),
    ]  # fmt: skip
    rows = {row.key[0]: row for row in headlines(records, OCTOBER, NOVEMBER)}
    assert rows["2-ten: acknowledged in time"] == ReportRow(("2-ten: acknowledged in time",), 2, 1)
    assert rows["2-ten: full response in 10 working days"].share_met == 1.0
    assert rows["CH02: stage 1 complaints answered in time"].share_met == 0.0
    assert rows["CH02: stage 2 complaints answered in time"].share_met == 1.0
    # Nothing decided: listed, with no share.
    assert rows["complaints procedure sent in 1 working day"].share_met is None
    assert len(rows) == 5  # letters are in share_met, not in the headlines


def test_headlines_take_the_time_of_the_report() -> None:
    records = [record("social", promise="SOCIAL", due=at(10))]
    early = {r.key[0]: r for r in headlines(records, OCTOBER, NOVEMBER, now=at(9))}
    assert early["2-ten: acknowledged in time"].decided == 0
