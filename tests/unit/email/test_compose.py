from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain.model import Channel, OutboundMessage
from channels.email.compose import ComposeError, build_email, message_id_for
from channels.email.loops import auto_reply_block_reason
from channels.email.parse import parse_email


def outbound(**overrides: object) -> OutboundMessage:
    fields: dict[str, object] = {
        "channel": Channel.EMAIL,
        "recipient": "jo@example.org",
        "body": "We have received your email about: Boiler.",
        "idempotency_key": "ack:42",
        "subject": "Boiler",
        "in_reply_to": "abc123@example.org",
        "references": ("first@example.org",),
    }
    fields.update(overrides)
    return OutboundMessage(**fields)  # type: ignore[arg-type]


def test_auto_reply_headers_and_threading() -> None:
    mail = build_email(
        outbound(),
        from_address="repairs@landlord.example",
        from_name="Riverside Homes Repairs",
        domain_for_ids="landlord.example",
        now=datetime(2025, 3, 3, 10, 0, tzinfo=UTC),
    )
    assert mail["From"] == "Riverside Homes Repairs <repairs@landlord.example>"
    assert mail["To"] == "jo@example.org"
    assert mail["Subject"] == "Re: Boiler"
    assert mail["In-Reply-To"] == "<abc123@example.org>"
    assert mail["References"] == "<first@example.org> <abc123@example.org>"
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["X-Auto-Response-Suppress"] == "All"
    assert mail["Date"] == "Mon, 03 Mar 2025 10:00:00 +0000"
    assert mail["Message-ID"] == f"<{message_id_for(outbound(), 'landlord.example')}>"


def test_message_id_is_stable_per_idempotency_key() -> None:
    a = message_id_for(outbound(), "landlord.example")
    assert a == message_id_for(outbound(body="other"), "landlord.example")
    assert a != message_id_for(outbound(idempotency_key="ack:43"), "landlord.example")


@pytest.mark.parametrize("subject", ["Re: Boiler", "RE: Boiler", "AW: Boiler", "re:Boiler"])
def test_reply_prefix_not_doubled(subject: str) -> None:
    mail = build_email(
        outbound(subject=subject), from_address="r@l.example", from_name=None, domain_for_ids="l"
    )
    assert mail["Subject"] == subject


def test_new_message_is_not_prefixed_and_staff_reply_is_not_auto() -> None:
    mail = build_email(
        outbound(in_reply_to=None, references=(), auto=False),
        from_address="r@l.example",
        from_name=None,
        domain_for_ids="l.example",
    )
    assert mail["Subject"] == "Boiler"
    assert mail["In-Reply-To"] is None and mail["References"] is None
    assert mail["Auto-Submitted"] is None and mail["X-Auto-Response-Suppress"] is None


def test_team_sender_overrides_from_address() -> None:
    mail = build_email(
        outbound(sender="asb@landlord.example"),
        from_address="r@l.example",
        from_name="Team",
        domain_for_ids="l.example",
    )
    assert mail["From"] == "Team <asb@landlord.example>"


def test_html_alternative_and_non_ascii_text_round_trip() -> None:
    mail = build_email(
        outbound(body="Diolch — we’ll be in touch. £0 cost.", html="<p>Diolch</p>"),
        from_address="r@l.example",
        from_name="Tîm Atgyweirio",
        domain_for_ids="l.example",
    )
    assert mail.get_content_type() == "multipart/alternative"
    raw = mail.as_bytes()
    assert raw.isascii()  # no 8BITMIME needed on the way
    parsed = parse_email(raw)
    assert parsed.inbound.body == "Diolch — we’ll be in touch. £0 cost."
    assert parsed.inbound.sender_name == "Tîm Atgyweirio"
    # Our own acknowledgement must never be acknowledged (by us or by a careful peer).
    assert auto_reply_block_reason(parsed.message) == "auto-submitted"


@pytest.mark.parametrize(
    "overrides",
    [
        {"recipient": "not-an-address"},
        {"recipient": "jo@example.org\r\nBcc: everyone@example.org"},
    ],
)
def test_bad_input_raises_compose_error(overrides: dict[str, object]) -> None:
    with pytest.raises(ComposeError):
        build_email(
            outbound(**overrides), from_address="r@l.example", from_name=None, domain_for_ids="l"
        )


def test_a_line_break_in_a_subject_is_flattened_never_a_header() -> None:
    # Issue 14: a CR/LF kept in a case's subject used to make every mail on the case fail.
    mail = build_email(
        outbound(subject="Hi\r\nBcc: everyone@example.org"),
        from_address="r@l.example",
        from_name=None,
        domain_for_ids="l",
    )
    assert "Bcc" not in mail
    assert str(mail["Subject"]).endswith("Hi Bcc: everyone@example.org")
    assert b"\r\nBcc:" not in mail.as_bytes()
