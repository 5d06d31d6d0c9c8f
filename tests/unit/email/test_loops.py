"""Every rule of domain.md's loop protection, one by one, plus the documented heuristics."""

from __future__ import annotations

import pytest

from channels.email.loops import auto_reply_block_reason
from tests.unit.email.helpers import message_of, raw_mail


def reason(**headers: str | None) -> str | None:
    return auto_reply_block_reason(message_of(raw_mail(**headers)), own_addresses=OWN)


OWN = ("repairs@landlord.example", "Housing@Landlord.example")


def test_ordinary_mail_may_be_answered() -> None:
    assert reason() is None


@pytest.mark.parametrize("value", ["auto-replied", "auto-generated", "Auto-Notified; x=1", ""])
def test_auto_submitted_anything_but_no(value: str) -> None:
    assert reason(Auto_Submitted=value) == "auto-submitted"


@pytest.mark.parametrize("value", ["no", "NO", " No ; comment=1"])
def test_auto_submitted_no_is_a_person(value: str) -> None:
    assert reason(Auto_Submitted=value) is None


@pytest.mark.parametrize("header", ["Precedence", "X_Precedence"])
@pytest.mark.parametrize("value", ["bulk", "JUNK", "list", "auto_reply"])
def test_precedence(header: str, value: str) -> None:
    assert reason(**{header: value}) == f"precedence-{value.lower()}"


def test_other_precedence_values_are_fine() -> None:
    assert reason(Precedence="first-class") is None


def test_list_headers() -> None:
    assert reason(List_Id="<tenants.example.org>") == "list-id"
    assert reason(List_Unsubscribe="<mailto:leave@example.org>") == "list-unsubscribe"


@pytest.mark.parametrize(
    "header",
    ["X_Autoreply", "X_Autorespond", "X_Autoresponse", "X_Autoreply_From", "X_Mail_Autoreply"],
)
def test_autoreply_headers_present(header: str) -> None:
    assert reason(**{header: "yes"}) == "x-autoreply"


@pytest.mark.parametrize(
    "value", ["All", "OOF", "autoreply", "DR, RN, NRN, OOF, AutoReply", "dr all"]
)
def test_auto_response_suppress_tokens(value: str) -> None:
    assert reason(X_Auto_Response_Suppress=value) == "auto-response-suppress"


@pytest.mark.parametrize("value", ["AllX", "DR, RN", "OOFish", "NoAutoReply", "XAll, RNOOF"])
def test_auto_response_suppress_matches_tokens_not_prefixes(value: str) -> None:
    assert reason(X_Auto_Response_Suppress=value) is None


def test_x_loop() -> None:
    assert reason(X_Loop="helpdesk@example.org") == "x-loop"


@pytest.mark.parametrize("value", ["<>", "< >"])
def test_null_return_path(value: str) -> None:
    assert reason(Return_Path=value) == "null-return-path"


def test_ordinary_return_path_is_fine() -> None:
    assert reason(Return_Path="<jo.bloggs@example.org>") is None


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ("MAILER-DAEMON@mx.example.org", "mailer-daemon"),
        ("Mail Delivery System <MAILER-DAEMON>", "mailer-daemon"),
        ("postmaster@example.org", "postmaster"),
        ("post_master@example.org", "postmaster"),
        ("noreply@example.org", "noreply-sender"),
        ("no-reply@example.org", "noreply-sender"),
        ("No_Reply+12@example.org", "noreply-sender"),
        ("do-not-reply@example.org", "noreply-sender"),
        ("donotreply@example.org", "noreply-sender"),
        ("dont-reply@example.org", "noreply-sender"),
        ("Council <noreply.alerts@example.org>", "noreply-sender"),
    ],
)
def test_machine_senders(sender: str, expected: str) -> None:
    assert reason(From=sender) == expected


@pytest.mark.parametrize(
    "sender", ["norah.reilly@example.org", "replyall@example.org", "nora@x.org"]
)
def test_people_whose_names_look_like_noreply_are_fine(sender: str) -> None:
    assert reason(From=sender) is None


@pytest.mark.parametrize(
    "sender", ["repairs@landlord.example", "REPAIRS@landlord.example", "housing+x@landlord.example"]
)
def test_own_addresses(sender: str) -> None:
    assert reason(From=sender) == "own-address"


def _multipart(content_type: str, inner: str = "") -> bytes:
    return (
        "From: jo@example.org\r\nTo: r@l.example\r\nSubject: Hello\r\nMessage-ID: <r@x>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: {content_type}; boundary=B\r\n\r\n"
        "--B\r\nContent-Type: text/plain\r\n\r\nhuman readable part\r\n"
        f"{inner}--B--\r\n"
    ).encode()


@pytest.mark.parametrize(
    "report_type", ["delivery-status", "disposition-notification", "feedback-report"]
)
def test_multipart_report(report_type: str) -> None:
    raw = _multipart(f"multipart/report; report-type={report_type}")
    assert auto_reply_block_reason(message_of(raw)) == "report"


def test_multipart_report_one_level_down() -> None:
    raw = (
        b"From: jo@example.org\r\nSubject: Hello\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=O\r\n\r\n"
        b"--O\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=I\r\n\r\n"
        b"--I\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--I--\r\n--O--\r\n"
    )
    assert auto_reply_block_reason(message_of(raw)) == "report"


def test_failed_recipients() -> None:
    assert reason(X_Failed_Recipients="jo@example.org") == "failed-recipients"


# --- heuristics -----------------------------------------------------------------------


def test_delivery_status_part_inside_multipart_mixed() -> None:
    inner = "--B\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n\r\n"
    raw = _multipart("multipart/mixed", inner)
    assert auto_reply_block_reason(message_of(raw)) == "delivery-status"


def test_bounce_forwarded_as_an_attachment_by_a_person_is_not_blocked() -> None:
    inner = (
        "--B\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: MAILER-DAEMON@x.org\r\nContent-Type: multipart/report; boundary=C\r\n\r\n"
        "--C\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n\r\n--C--\r\n"
    )
    raw = _multipart("multipart/mixed", inner)
    assert auto_reply_block_reason(message_of(raw)) is None


@pytest.mark.parametrize(
    "header",
    [
        "X_Ms_Exchange_Generated_Message_Source",
        "X_Ms_Exchange_Inbox_Rules_Loop",
        "X_Autogenerated",
        "X_Auto_Generated",
    ],
)
def test_generated_message_headers(header: str) -> None:
    assert reason(**{header: "Mailbox Rules Agent"}) is not None


@pytest.mark.parametrize("header", ["Mailing_List", "X_Mailing_List", "List_Post", "X_Mlserver"])
def test_mailing_list_software_without_list_id(header: str) -> None:
    assert reason(**{header: "x"}) == "mailing-list"


@pytest.mark.parametrize(
    "sender", ["bounce@example.org", "bounces+1234-abcd@mail.example.org", "bounce-17@x.org"]
)
def test_bounce_senders(sender: str) -> None:
    assert reason(From=sender) == "bounce-sender"


@pytest.mark.parametrize(
    "subject",
    [
        "Undelivered Mail Returned to Sender",
        "Delivery Status Notification (Failure)",
        "Mail delivery failed: returning message to sender",
        "Returned mail: see transcript for details",
        "Undeliverable: Boiler",
        "Automatic reply: Boiler",
        "Out of Office: Boiler",
        "Out of office",
        "Out of Office AutoReply: Boiler",
        "Autoreply: Boiler",
        "Auto-Reply: Boiler",
        "Auto reply: Boiler",
        "[Auto-Reply] Boiler",
        "Abwesenheitsnotiz: Boiler",
        "Réponse automatique : Boiler",
        "Automatische Antwort: Boiler",
        "failure notice",
        "Fwd: Returned mail: see transcript for details",
        "complaint about message from 192.0.2.1",
    ],
)
def test_bounce_and_autoreply_subjects(subject: str) -> None:
    assert reason(Subject=subject) is not None


@pytest.mark.parametrize(
    "subject",
    [
        "Out of office hours emergency - gas smell",
        "Re: Out of hours repair",
        "Complaint about message from my housing officer",
        "Returning the keys",
        "My reply to your letter",
        "Re: Undelivered parcel left in the stairwell",
        "Automatic doors broken at the block entrance",
    ],
)
def test_resident_subjects_that_look_similar_are_fine(subject: str) -> None:
    assert reason(Subject=subject) is None


def test_missing_sender_is_not_answered() -> None:
    assert reason(From="<>") is not None
    assert reason(From=None) is not None
