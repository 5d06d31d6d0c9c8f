"""Issue 13: the sender is what RFC 5322 parsing finds, encoded words decoded only inside
display names, and a From that parsing has to guess at names nobody we may write to."""

from __future__ import annotations

import pytest

from bot.domain.model import OutboundMessage
from channels.email.compose import build_email
from channels.email.loops import auto_reply_block_reason
from channels.email.parse import parse_email
from tests.unit.email.helpers import raw_mail


def _parse(from_value: str) -> tuple[str, str | None, str | None, str | None]:
    parsed = parse_email(raw_mail(From=from_value))
    msg = parsed.inbound
    return (
        msg.sender,
        msg.sender_name,
        msg.meta.get("sender"),
        auto_reply_block_reason(parsed.message),
    )


@pytest.mark.parametrize(
    "from_value",
    [
        # The encoded word is a display name; what it spells is never an address.
        "=?utf-8?q?victim@resident.example?= <attacker@evil.example>",
        "=?utf-8?b?dmljdGltQHJlc2lkZW50LmV4YW1wbGU=?= <attacker@evil.example>",
        "=?utf-8?q?=3Cvictim@resident.example=3E?= <attacker@evil.example>",
        '"victim@resident.example" <attacker@evil.example>',
        "=?iso-8859-1?q?victim@resident.example?= <ATTACKER@Evil.Example>",
    ],
)
def test_a_name_that_looks_like_an_address_is_only_a_name(from_value: str) -> None:
    sender, name, problem, reason = _parse(from_value)
    assert sender == "attacker@evil.example"
    assert problem is None
    assert reason is None  # an ordinary mail from the attacker: answered to the attacker
    assert name is not None and "victim@resident.example" in name


@pytest.mark.parametrize(
    "from_value",
    [
        # A line break hidden in an encoded name: the old decoder turned it into a header.
        "=?utf-8?q?Jo=0D=0ABcc:_attacker2@evil.example?= <attacker@evil.example>",
        "=?utf-8?q?Jo=0ABcc:_attacker2@evil.example?= <attacker@evil.example>",
        "=?utf-8?b?Sm8NCkJjYzogYXR0YWNrZXIyQGV2aWwuZXhhbXBsZQ==?= <attacker@evil.example>",
    ],
)
def test_a_line_break_in_an_encoded_name_adds_no_header_or_recipient(from_value: str) -> None:
    parsed = parse_email(raw_mail(From=from_value))
    msg = parsed.inbound
    assert "attacker2" not in msg.sender
    assert msg.sender in ("", "attacker@evil.example")
    assert "\n" not in (msg.sender_name or "") and "\r" not in (msg.sender_name or "")
    if msg.sender:
        # Whatever we would send goes to one address, with no header added.
        mail = build_email(
            OutboundMessage(
                channel=msg.channel,
                recipient=msg.sender,
                body="Thank you",
                idempotency_key="k",
                subject="Re: x",
            ),
            from_address="repairs@landlord.example",
            from_name=None,
            domain_for_ids="landlord.example",
        )
        assert "Bcc" not in mail
        assert mail["To"].addresses[0].addr_spec == "attacker@evil.example"
    else:
        assert auto_reply_block_reason(parsed.message) == "unparseable-sender"


@pytest.mark.parametrize(
    "from_value",
    [
        # Not RFC 5322: the parser guesses, and a guessed sender is nobody we write to.
        "victim@resident.example <attacker@evil.example>",
        "victim@resident.example, <attacker@evil.example",
        "a@b@c.example",
        "<=?utf-8?q?victim=40resident.example?=>",
        "Jo Bloggs",
        '"Jo" <jo bloggs@example.org>',
        "<<>>",
    ],
)
def test_an_unparseable_sender_gets_no_reply_and_is_recorded(from_value: str) -> None:
    sender, _name, problem, reason = _parse(from_value)
    assert sender != "victim@resident.example"
    assert "@" not in sender
    assert problem == "unparseable"
    assert reason == "unparseable-sender"


def test_several_from_mailboxes_name_nobody() -> None:
    sender, _name, problem, reason = _parse("victim@resident.example, attacker@evil.example")
    assert sender == ""
    assert problem == "several"
    assert reason == "several-senders"


def test_ordinary_senders_are_unchanged() -> None:
    for from_value, address, name in [
        ("Jo Bloggs <Jo.Bloggs@Example.org>", "jo.bloggs@example.org", "Jo Bloggs"),
        ("jo@example.org (Jo)", "jo@example.org", None),
        (
            "=?utf-8?q?Sin=C3=A9ad_O=27Brien?= <sinead@example.ie>",
            "sinead@example.ie",
            "Sinéad O'Brien",
        ),
        ('"Smith, Jane" <jane@example.org>', "jane@example.org", "Smith, Jane"),
        ("=?bogus?q?Jo?= <jo@example.org>", "jo@example.org", "Jo"),
    ]:
        sender, sender_name, problem, reason = _parse(from_value)
        assert (sender, sender_name, problem, reason) == (address, name, None, None), from_value


def test_sender_stands_in_only_when_from_is_absent() -> None:
    msg = parse_email(raw_mail(From=None, Sender="Jo <jo@example.org>")).inbound
    assert msg.sender == "jo@example.org"
    forged = parse_email(
        raw_mail(From="victim@resident.example <x@evil.example>", Sender="jo@example.org")
    ).inbound
    assert forged.sender == ""


@pytest.mark.parametrize(
    "value",
    [
        "jo@example.org",
        "Jo.Bloggs@Example.Org",
        "Jo Bloggs <Jo.Bloggs@Example.org>",
        "O'Brien-Smith <ob@mail.example.co.uk>",
        "<jo@example.org>",
        "jo+repairs@example.org",
        "J0 <j_0%x@a-b.example>",
    ],
)
def test_the_fast_path_reads_what_the_parser_reads(value: str) -> None:
    from email.headerregistry import HeaderRegistry

    from channels.email.headers import _plain

    plain = _plain(value)
    assert plain is not None
    header = HeaderRegistry()("from", value)
    assert not header.defects
    (parsed,) = header.addresses
    assert (plain.display, plain.address) == (parsed.display_name, parsed.addr_spec.lower())


@pytest.mark.parametrize(
    "value",
    [
        "=?utf-8?q?victim@resident.example?= <attacker@evil.example>",
        "victim@resident.example <attacker@evil.example>",
        '"Jo" <jo@example.org>',
        "Jo B. Smith <jo@example.org>",
        "jo@localhost",
        "Jo  Bloggs <jo@example.org>",
        "jo@example.org (Jo)",
    ],
)
def test_anything_else_takes_the_parser(value: str) -> None:
    from channels.email.headers import _plain

    assert _plain(value) is None
