"""SMS templates: GSM-7, a way to contact us, and acknowledgements in at most 2 segments."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from actions.acknowledge import AckContext, Composer
from bot.settings import Organisation
from channels.sms import gsm

ORG = Organisation(
    name="Riverside Homes",
    phone="0300 123 4567",
    emergency_phone="0300 123 4999",
    opening_hours_text="Monday to Thursday 8:30am to 5:15pm, Friday 8:30am to 4:45pm",
)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
composer = Composer(ORG)


@pytest.mark.parametrize(
    ("topic", "urgency", "signposts", "open_"),
    list(
        itertools.product(
            ["repair", "asb", "complaint", "general"],
            ["emergency", "urgent", "routine"],
            [(), ("gas",), ("999",), ("gas", "999", "emergency_repairs")],
            [True, False],
        )
    ),
)
def test_acknowledgement_fits_two_segments(
    topic: str, urgency: str, signposts: tuple[str, ...], open_: bool
) -> None:
    ctx = AckContext(
        reference="DS-2026-000123",
        topic=topic,
        urgency=urgency,
        owner_name="Community Safety team",
        deadline=datetime(2027, 12, 29, 17, 0, tzinfo=UTC),
        now=NOW,
        resident_name="Jane",
        hazard_signposts=signposts,
        office_open=open_,
    )
    body = gsm.normalise(composer.acknowledgement(ctx, channel="sms")).strip()
    info = gsm.segment_info(body)
    assert info.encoding == "GSM-7"
    assert info.segments <= 2, (info, body)
    assert "DS-2026-000123" in body
    assert "by 5pm on Wednesday 29 December 2027" in body  # the deadline in words
    assert ORG.phone in body  # CONTACT
    if urgency == "emergency" or "emergency_repairs" in signposts:
        assert ORG.emergency_phone in body  # EMERGENCY
    if "gas" in signposts:
        assert "0800 111 999" in body


VALUES = {
    "first_name": "Jane",
    "job_ref": "JOB-2026-004211",
    "trade": "plumbing",
    "address": "Flat 12, Riverside Court, 4 Mill Lane, Leeds LS1 4AB",
    "when": "Wednesday 30 December, in the afternoon (12pm to 6pm)",
    "old_when": "Tuesday 29 December, in the morning (8am to 1pm)",
    "reason": "the operative is ill",
    "team": "Repairs team",
    "deadline": "by 5pm on Wednesday 30 December",
    "preferred": "Thursday 31 December",
    "reference": "DS-2026-000123",
    "emergency_phone": ORG.emergency_phone,
}


@pytest.mark.parametrize(
    "name",
    [
        "appointment_scheduled",
        "appointment_reminder",
        "appointment_moved",
        "appointment_cancelled",
        "appointment_after_job",
        "appointment_reply_confirmed",
        "appointment_reply_cancelled",
        "appointment_reply_change",
        "appointment_reply_happy",
        "appointment_reply_unhappy",
        "sms_help",
    ],
)
def test_appointment_texts_are_short_plain_gsm7_with_a_contact(name: str) -> None:
    body = gsm.normalise(composer.render(f"{name}.txt.j2", channel="sms", **VALUES)).strip()
    info = gsm.segment_info(body)
    assert info.encoding == "GSM-7"
    assert info.segments <= 3, (info, body)
    assert ORG.phone in body
    assert "\n\n" not in body  # one concatenated text, not paragraphs


def test_appointment_texts_never_ask_for_a_lone_opt_out_word() -> None:
    body = composer.render("appointment_scheduled.txt.j2", channel="sms", **VALUES)
    # "Reply CANCEL" would opt the resident out of all texts (single-word rule).
    assert "reply CANCEL APPOINTMENT" in body
    assert "Reply CANCEL " not in body.replace("CANCEL APPOINTMENT", "")
