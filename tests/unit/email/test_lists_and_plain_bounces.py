"""Issue 14: mailing-list mail and plain-text bounces get no acknowledgement, and residents
who write about a bounce still do. The digests are written the way Mailman 2 writes them."""

from __future__ import annotations

import pytest

from channels.email.loops import auto_reply_block_reason
from channels.email.parse import parse_email
from tests.unit.email.helpers import message_of, raw_mail

MAILMAN2_DIGEST = (
    b"Return-Path: <ppp-bounces@lists.example.net>\r\n"
    b"From: ppp-request@lists.example.net\r\n"
    b"Subject: ppp Digest, Vol 42, Issue 7\r\n"
    b"To: ppp@lists.example.net\r\n"
    b"Reply-To: ppp@lists.example.net\r\n"
    b"Date: Mon, 03 Mar 2025 12:00:03 +0000\r\n"
    b"Message-ID: <mailman.1.1741003203.1234.ppp@lists.example.net>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"Content-Transfer-Encoding: 7bit\r\n"
    b"X-Mailman-Version: 2.1.29\r\n"
    b"Errors-To: ppp-bounces@lists.example.net\r\n"
    b"Sender: ppp-bounces@lists.example.net\r\n"
    b"\r\n"
    b"Send ppp mailing list submissions to\r\n"
    b"\tppp@lists.example.net\r\n"
    b"\r\n"
    b"Today's Topics:\r\n"
    b"\r\n"
    b"   1. Re: boiler pressure (Jo Bloggs)\r\n"
    b"\r\n"
    b"----------------------------------------------------------------------\r\n"
    b"\r\n"
    b"Message: 1\r\n"
    b"From: Jo Bloggs <jo@example.org>\r\n"
    b"Subject: Re: boiler pressure\r\n"
    b"\r\n"
    b"My boiler is leaking.\r\n"
)


def _reason(raw: bytes) -> str | None:
    return auto_reply_block_reason(parse_email(raw).message)


def test_a_mailman_2_digest_gets_no_reply() -> None:
    assert _reason(MAILMAN2_DIGEST) is not None


@pytest.mark.parametrize(
    "header", [b"From: ppp-request@", b"Sender: ppp-bounces@", b"X-Mailman-Version: 2.1.29"]
)
def test_each_mailman_signal_alone_is_enough(header: bytes) -> None:
    lines = MAILMAN2_DIGEST.split(b"\r\n")
    # Keep the one signal; the others become those of an ordinary person's mail.
    kept: list[bytes] = []
    for line in lines:
        if line.startswith((b"From:", b"Sender:", b"X-Mailman", b"Return-Path", b"Errors-To")):
            if line.startswith(header.split(b":")[0] + b":") and header in line:
                kept.append(line)
            elif line.startswith(b"From:"):
                kept.append(b"From: Jo Bloggs <jo@example.org>")
            continue
        if line.startswith(b"Subject:"):
            kept.append(b"Subject: boiler pressure")
            continue
        kept.append(line)
    assert _reason(b"\r\n".join(kept)) is not None


@pytest.mark.parametrize(
    "sender",
    [
        "ppp-request@lists.example.net",
        "ppp-bounces@lists.example.net",
        "ppp-bounces+jo=example.org@lists.example.net",
        "ppp-owner@lists.example.net",
        "owner-ppp@lists.example.net",
        "tenants-return-1234-jo=example.org@lists.example.net",
        "mailman@lists.example.net",
        "majordomo@lists.example.net",
        "LISTSERV@lists.example.net",
    ],
)
def test_list_management_senders(sender: str) -> None:
    assert auto_reply_block_reason(message_of(raw_mail(From=sender))) is not None


@pytest.mark.parametrize(
    "header", ["X_Mailman_Version", "X_List_Id", "X_List_Name", "X_Beenthere", "X_Listmember"]
)
def test_list_software_headers(header: str) -> None:
    assert auto_reply_block_reason(message_of(raw_mail(**{header: "x"}))) == "mailing-list"


@pytest.mark.parametrize(
    "subject",
    [
        "ppp Digest, Vol 42, Issue 7",
        "Tenants-Forum digest, Vol 3 #12",
        "Digest Number 1234",
        "[tenants] Digest for tenants@googlegroups.com - 3 updates in 1 topic",
        "Abridged summary for tenants@googlegroups.com - 2 updates",
    ],
)
def test_digest_subjects(subject: str) -> None:
    assert auto_reply_block_reason(message_of(raw_mail(Subject=subject))) is not None


@pytest.mark.parametrize(
    "subject",
    [
        "Digestive problems after the damp",  # a person
        "Request for a repair",
        "Owner of the car parked in my space",
    ],
)
def test_people_with_list_like_words_are_answered(subject: str) -> None:
    assert auto_reply_block_reason(message_of(raw_mail(Subject=subject))) is None


@pytest.mark.parametrize(
    "local", ["jo-owner-occupier", "requests", "owner", "bouncer.castle", "the-owners"]
)
def test_people_with_list_like_addresses_are_answered(local: str) -> None:
    reason = auto_reply_block_reason(message_of(raw_mail(From=f"{local}@example.org")))
    assert reason is None


# Plain-text bounces: a phrase, from a mail system, in English and the main European languages.
PLAIN_BOUNCES = [
    ("Postmaster <postmaster@mail.example>", "Your message could not be delivered", "Hello,"),
    ("Postmaster <pm-notify@mail.example>", "Mail Delivery Warning", "Delayed."),
    ("Mail Delivery Subsystem <notify@mx.example>", "Hi", "Your message could not be delivered."),
    ("Mailer Daemon <md@mx.example>", "Notice", "This is a permanent error."),
    (
        "E-Mail-Zustellsystem <system@mx.example>",
        "Fehler",
        "Die Nachricht konnte nicht zugestellt werden.",
    ),
    ("Postmaster <pm@mx.example>", "Unzustellbar", "Zustellung fehlgeschlagen."),
    ("Système de messagerie <sys@mx.example>", "Avis", "Votre message n'a pas pu être remis."),
    ("Postmaster <pm@mx.example>", "Aviso", "No se pudo entregar el mensaje."),
    ("Postmaster <pm@mx.example>", "Avviso", "Non è stato possibile consegnare il messaggio."),
    ("Postmaster <pm@mx.example>", "Bericht", "Uw bericht kon niet worden bezorgd."),
    ("Postmaster <pm@mx.example>", "Aviso", "A mensagem não pôde ser entregue."),
]


@pytest.mark.parametrize(("sender", "subject", "body"), PLAIN_BOUNCES)
def test_plain_text_bounces_get_no_reply(sender: str, subject: str, body: str) -> None:
    message = message_of(
        raw_mail(body, From=sender, Subject=subject, Content_Type="text/plain; charset=utf-8")
    )
    assert auto_reply_block_reason(message) is not None


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        ("My message could not be delivered", "I tried to email you but it bounced."),
        ("Email bounced", "My message could not be delivered to repairs, it said user unknown."),
        ("Nachricht", "Meine Nachricht konnte nicht zugestellt werden. Bitte helfen."),
        ("Returned", "Your letter was returned mail to me, the postman said no such user."),
    ],
)
def test_residents_who_write_about_a_bounce_are_answered(subject: str, body: str) -> None:
    message = message_of(
        raw_mail(
            body,
            From="Jo Bloggs <jo@example.org>",
            Subject=subject,
            Content_Type="text/plain; charset=utf-8",
        )
    )
    assert auto_reply_block_reason(message) is None
