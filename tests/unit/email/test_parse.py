from __future__ import annotations

import base64
import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.model import Channel
from channels.base import InvalidPayloadError
from channels.email.parse import EmailParseError, ParsedEmail, parse_email
from tests.unit.email.helpers import raw_mail


def test_plain_mail_becomes_one_inbound_message() -> None:
    parsed = parse_email(raw_mail(In_Reply_To="<ack-1@landlord.example>"))
    msg = parsed.inbound
    assert msg.channel is Channel.EMAIL
    assert msg.external_id == "abc123@example.org"
    assert msg.sender == "jo.bloggs@example.org"
    assert msg.sender_name == "Jo Bloggs"
    assert msg.subject == "Boiler"
    assert msg.recipient == "repairs@landlord.example"
    assert msg.thread_refs == ("ack-1@landlord.example",)
    assert msg.body == "Hello, my boiler is broken."
    assert msg.received_at == datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
    assert parsed.message["Subject"] == "Boiler"


def test_reply_to_is_kept_in_meta_not_used_as_sender() -> None:
    msg = parse_email(raw_mail(Reply_To="Other <Other@Example.net>")).inbound
    assert msg.sender == "jo.bloggs@example.org"
    assert msg.meta["reply_to"] == "other@example.net"


def test_thread_refs_join_in_reply_to_and_references_without_duplicates() -> None:
    raw = raw_mail(
        In_Reply_To="<b@x>",
        References="<a@x>\r\n <b@x>",
    )
    assert parse_email(raw).inbound.thread_refs == ("b@x", "a@x")


def test_missing_message_id_gets_a_stable_hash_id() -> None:
    raw = raw_mail(Message_ID=None)
    first = parse_email(raw).inbound
    assert first.external_id.startswith("sha256-")
    assert first.external_id == parse_email(raw).inbound.external_id
    assert first.meta["message_id"] == "missing"


def test_missing_or_bad_date_uses_received_at_and_is_timezone_aware() -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert parse_email(raw_mail(Date=None), received_at=now).inbound.received_at == now
    assert parse_email(raw_mail(Date="yesterday-ish"), received_at=now).inbound.received_at == now
    no_tz = parse_email(raw_mail(Date="Mon, 03 Mar 2025 10:00:00 -0000")).inbound.received_at
    assert no_tz.tzinfo is not None
    missing = parse_email(raw_mail(Date=None)).inbound.received_at
    assert missing.tzinfo is not None
    assert abs(datetime.now(UTC) - missing) < timedelta(minutes=1)


def test_date_in_the_future_is_capped_at_now() -> None:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    assert parse_email(raw_mail(), received_at=now).inbound.received_at == now


def test_recipient_matches_delivered_to_and_plus_addresses() -> None:
    raw = raw_mail(
        To="Housing <housing@landlord.example>, repairs+damp@landlord.example",
        Delivered_To="repairs+damp@landlord.example",
    )
    assert parse_email(raw).inbound.recipient == "repairs+damp@landlord.example"
    assert (
        parse_email(raw, recipient="Repairs@landlord.example").inbound.recipient
        == "repairs+damp@landlord.example"
    )
    # Bcc: the mailbox is not named in any header, but that is where it arrived.
    assert (
        parse_email(raw_mail(), recipient="team@landlord.example").inbound.recipient
        == "team@landlord.example"
    )


def test_encoded_words_in_headers_are_decoded() -> None:
    raw = raw_mail(
        From="=?utf-8?q?Si=C3=A2n_Jones?= <sian@example.org>",
        Subject="=?iso-8859-1?q?Caf=E9_roof_leak?=",
    )
    msg = parse_email(raw).inbound
    assert msg.sender_name == "Siân Jones"
    assert msg.subject == "Café roof leak"


def _single_part(charset: str, payload: bytes, cte: str = "8bit") -> bytes:
    head = (
        "From: jo@example.org\r\nTo: repairs@landlord.example\r\nSubject: s\r\n"
        "Message-ID: <c@x>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset={charset}\r\n"
        f"Content-Transfer-Encoding: {cte}\r\n\r\n"
    ).encode()
    return head + payload


@pytest.mark.parametrize(
    ("charset", "payload", "expected"),
    [
        ("iso-8859-1", "Café £5".encode("latin-1"), "Café £5"),
        ("windows-1252", "It’s “urgent” – 5€".encode("cp1252"), "It’s “urgent” – 5€"),
        # Mislabelled: Outlook's curly quotes in mail declared Latin-1.
        ("iso-8859-1", "It’s broken".encode("cp1252"), "It’s broken"),
        ("iso-2022-jp", "雨漏りがあります".encode("iso-2022-jp"), "雨漏りがあります"),
        ("utf-8", "Gwych 👍".encode(), "Gwych 👍"),
        ("x-bogus-charset", "Café".encode(), "Café"),
        ("x-bogus-charset", b"Caf\xe9 \xff", "Café ÿ"),
        ("utf-8", b"broken \xff\xfe utf8", "broken"),
        ('"utf-8"', "quoted ✓".encode(), "quoted ✓"),
    ],
)
def test_charsets_never_crash_and_decode_sensibly(
    charset: str, payload: bytes, expected: str
) -> None:
    body = parse_email(_single_part(charset, payload)).inbound.body
    assert expected in body


def test_base64_body_is_decoded() -> None:
    payload = base64.encodebytes("Damp in the bedroom".encode("utf-16")).replace(b"\n", b"\r\n")
    body = parse_email(_single_part("utf-16", payload, cte="base64")).inbound.body
    assert body == "Damp in the bedroom"


def test_html_only_mail_becomes_readable_text() -> None:
    html = (
        "<html><head><style>p {color: red}</style><script>alert(1)</script></head><body>"
        "<p>Hello,</p><div>The ceiling&nbsp;is <b>leaking</b> &amp; dripping.</div>"
        "<ul><li>kitchen</li><li>bathroom</li></ul>Thanks<br>Jo</body></html>"
    )
    raw = (
        "From: jo@example.org\r\nTo: r@l.example\r\nSubject: s\r\nMessage-ID: <h@x>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html
    ).encode()
    msg = parse_email(raw).inbound
    assert (
        msg.body
        == "Hello,\n\nThe ceiling is leaking & dripping.\n- kitchen\n- bathroom\nThanks\nJo"
    )
    assert "alert" not in msg.body and "color" not in msg.body
    assert msg.meta["body_source"] == "html"


def test_html_blockquote_is_treated_as_quoted_history() -> None:
    html = (
        "<div>Yes, Tuesday is fine.</div><div class=gmail_quote>On Mon, 3 Mar 2025, Repairs "
        "wrote:<blockquote>We can come on Tuesday.</blockquote></div>"
    )
    raw = (
        "From: jo@example.org\r\nTo: r@l.example\r\nSubject: s\r\nMessage-ID: <h@x>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html
    ).encode()
    msg = parse_email(raw).inbound
    assert msg.body == "Yes, Tuesday is fine."
    assert "> We can come on Tuesday." in (msg.full_text or "")


def test_multipart_alternative_prefers_plain_text() -> None:
    raw = (
        b"From: jo@example.org\r\nTo: r@l.example\r\nSubject: s\r\nMessage-ID: <m@x>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=XX\r\n\r\n"
        b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain version\r\n"
        b"--XX\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html version</p>\r\n"
        b"--XX--\r\n"
    )
    msg = parse_email(raw).inbound
    assert msg.body == "plain version"
    assert msg.attachments == ()


def test_attachments_are_recorded_without_their_bytes() -> None:
    photo = b"\x89PNG" + b"\x00" * 1000
    raw = (
        b"From: jo@example.org\r\nTo: r@l.example\r\nSubject: mould\r\nMessage-ID: <a@x>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain\r\n\r\nPhotos attached\r\n"
        b'--B\r\nContent-Type: image/png; name="wall.png"\r\n'
        b'Content-Disposition: attachment; filename="wall.png"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(photo) + b"\r\n"
        b"--B\r\nContent-Type: message/rfc822\r\n\r\n"
        b"From: x@y.z\r\nSubject: inner\r\n\r\ninner body\r\n"
        b"--B--\r\n"
    )
    msg = parse_email(raw).inbound
    assert msg.body == "Photos attached"
    assert [(a.filename, a.content_type) for a in msg.attachments] == [
        ("wall.png", "image/png"),
        (None, "message/rfc822"),
    ]
    assert msg.attachments[0].size == len(photo)
    assert msg.attachments[1].size > 0


def test_size_limit_raises_with_a_reason() -> None:
    raw = raw_mail("x" * 5000)
    with pytest.raises(EmailParseError) as caught:
        parse_email(raw, max_bytes=1000)
    assert "too large" in caught.value.reason
    assert isinstance(caught.value, InvalidPayloadError)


def test_oversize_stand_in_from_the_intake_is_quarantined() -> None:
    raw = b"X-Doorstep-Oversize: 99999999\r\n" + raw_mail()
    with pytest.raises(EmailParseError, match="too large"):
        parse_email(raw)


@pytest.mark.parametrize(
    "raw",
    [b"", b"   \r\n", b"\x00\x01\x02binary junk", b"just some words\r\nwithout headers"],
)
def test_garbage_raises_email_parse_error(raw: bytes) -> None:
    with pytest.raises(EmailParseError):
        parse_email(raw)


def test_non_bytes_input_is_refused() -> None:
    with pytest.raises(EmailParseError):
        parse_email("From: a@b\r\n\r\nx")  # type: ignore[arg-type]


def test_mail_without_sender_is_read_but_has_no_sender() -> None:
    msg = parse_email(raw_mail(From="<>")).inbound
    assert msg.sender == ""
    assert msg.meta["sender"] == "missing"


def test_broken_headers_do_not_crash() -> None:
    raw = (
        b'From: "unterminated <jo@example.org\r\nTo: ,,,@@@\r\nSubject: =?bogus?q?x=?=\r\n'
        b"Message-ID: <<<>>>\r\nReferences: <a@b> garbage <c\r\nDate: 99 Foo 20000\r\n"
        b'Content-Type: text/plain; charset="\r\n\r\nbody\r\n'
    )
    result = parse_email(raw)
    assert isinstance(result, ParsedEmail)
    assert result.inbound.body == "body"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_parse_never_raises_anything_but_email_parse_error(raw: bytes) -> None:
    with contextlib.suppress(EmailParseError):
        parse_email(raw)


@settings(max_examples=200, deadline=None)
@given(
    subject=st.text(max_size=80),
    body=st.text(max_size=500),
    charset=st.sampled_from(["utf-8", "latin-1", "x-unknown", "us-ascii", "iso-2022-jp"]),
)
def test_parse_survives_arbitrary_text_in_any_charset(
    subject: str, body: str, charset: str
) -> None:
    raw = (
        f"From: jo@example.org\r\nSubject: {subject.replace(chr(13), ' ').replace(chr(10), ' ')}"
        f"\r\nContent-Type: text/plain; charset={charset}\r\n\r\n"
    ).encode("utf-8", "surrogatepass") + body.encode("utf-8", "surrogatepass")
    with contextlib.suppress(EmailParseError):
        parse_email(raw)
