"""What residents read after a staff action: plain language, the reference, the deadline in
words and a way to contact us (CONTACT), on each channel's variant."""

from __future__ import annotations

from actions.acknowledge import Composer
from actions.complaints import OMBUDSMAN_PHONE
from bot.settings import Organisation

ORG = Organisation(name="Riverside Homes", phone="0300 123 4567")


def composer() -> Composer:
    return Composer(ORG)


def test_handoff_names_the_owner_and_the_deadline() -> None:
    text = composer().render(
        "handoff.txt.j2",
        reference="DS-2026-000001",
        resident_name="Jane",
        owner_name="Repairs team",
        deadline="by 5pm on Wednesday 23 December",
    )
    assert "Dear Jane," in text
    assert "passed your message to Repairs team" in text
    assert "by 5pm on Wednesday 23 December" in text
    assert "DS-2026-000001" in text and "0300 123 4567" in text


def test_handoff_by_text_is_short() -> None:
    text = composer().render(
        "handoff.txt.j2",
        channel="sms",
        reference="DS-2026-000001",
        resident_name=None,
        owner_name="Repairs team",
        deadline="by 5pm on Wednesday 23 December",
    )
    assert len(text) <= 2 * 153
    assert "Repairs team" in text and "DS-2026-000001" in text and "0300 123 4567" in text


def test_extension_gives_reason_date_and_ombudsman() -> None:
    text = composer().render(
        "complaint_extension.txt.j2",
        reference="DS-2026-000002",
        resident_name=None,
        reason="We are waiting for a report from the surveyor.",
        deadline="by 5pm on Friday 15 January",
        ombudsman_phone=OMBUDSMAN_PHONE,
    )
    assert "waiting for a report from the surveyor" in text
    assert "by 5pm on Friday 15 January" in text
    assert "housing-ombudsman.org.uk" in text and "0300 111 3000" in text
    assert "0300 123 4567" in text


def test_staff_reply_is_signed_with_first_name() -> None:
    for channel in (None, "sms", "webchat"):
        text = composer().render(
            "staff_reply.txt.j2",
            channel=channel,
            reference="DS-2026-000003",
            resident_name="Jane",
            body="We have booked the plumber.",
            staff_name="Sam",
        )
        assert "We have booked the plumber." in text
        assert "Sam" in text and "DS-2026-000003" in text


def test_stage_answers_say_what_happens_next() -> None:
    common = {
        "reference": "DS-2026-000004",
        "resident_name": None,
        "body": "We agree.",
        "staff_name": "Ann",
        "ombudsman_phone": OMBUDSMAN_PHONE,
    }
    first = composer().render("complaint_response.txt.j2", stage=1, **common)
    assert "A different person will review it" in first
    final = composer().render("complaint_response.txt.j2", stage=2, **common)
    assert "final answer" in final and "Housing Ombudsman" in final
