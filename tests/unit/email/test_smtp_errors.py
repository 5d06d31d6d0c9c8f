"""Error translation at the SMTP edge, without sockets (the e2e tests use a real server)."""

from __future__ import annotations

import aiosmtplib
import pytest

from bot.domain.model import Channel, OutboundMessage
from channels.base import PermanentSendError, TransientSendError
from channels.email.smtp import SmtpSender, SmtpSettings, _translate

RCPT = "jo.bloggs@example.org"


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(550, "no", RCPT)]),
         PermanentSendError),
        (aiosmtplib.SMTPRecipientsRefused([aiosmtplib.SMTPRecipientRefused(451, "later", RCPT)]),
         TransientSendError),
        (aiosmtplib.SMTPRecipientRefused(553, "bad mailbox", RCPT), PermanentSendError),
        (aiosmtplib.SMTPDataError(554, "rejected as spam"), PermanentSendError),
        (aiosmtplib.SMTPDataError(452, "insufficient storage"), TransientSendError),
        (aiosmtplib.SMTPSenderRefused(550, "sender not allowed", "r@l.example"),
         TransientSendError),
        (aiosmtplib.SMTPAuthenticationError(535, "bad credentials"), TransientSendError),
        (aiosmtplib.SMTPServerDisconnected("gone"), TransientSendError),
        (aiosmtplib.SMTPConnectError("refused"), TransientSendError),
        (aiosmtplib.SMTPReadTimeoutError("slow"), TransientSendError),
        (aiosmtplib.SMTPNotSupported("no STARTTLS"), TransientSendError),
    ],
)  # fmt: skip
def test_translation(exc: aiosmtplib.SMTPException, expected: type[Exception]) -> None:
    translated = _translate(exc, RCPT)
    assert type(translated) is expected


def test_addresses_are_redacted_in_error_messages() -> None:
    exc = aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(550, f"5.1.1 <{RCPT}>: unknown", RCPT)]
    )
    assert RCPT not in str(_translate(exc, RCPT))
    assert "j***@example.org" in str(_translate(exc, RCPT))


async def test_unbuildable_message_is_permanent_without_touching_the_network() -> None:
    sender = SmtpSender(SmtpSettings(host="192.0.2.1", port=25, from_address="r@l.example"))
    message = OutboundMessage(
        channel=Channel.EMAIL, recipient="not an address", body="x", idempotency_key="k"
    )
    with pytest.raises(PermanentSendError):
        await sender.send(message)


def test_bad_security_setting_fails_at_start() -> None:
    with pytest.raises(ValueError, match="security"):
        SmtpSender(SmtpSettings(host="h", port=25, from_address="r@l", security="tls"))  # type: ignore[arg-type]
