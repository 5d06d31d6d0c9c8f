"""Sending a probe on each channel, as a resident would (adapters: the network is here).

- email: a plain message from `probe.email.from_address` to the landlord's mailbox, through
  the configured SMTP relay, with the marker in the `X-Doorstep-Probe` header;
- web chat: the real socket at the public address (the widget's own protocol), marker in
  the text; the acknowledgement is read on the same socket;
- SMS: a text from the probe's own Twilio number to the landlord's, marker in the text.

An email acknowledgement is read in the probe address's own mailbox when
`probe.email.mailbox` is set (the whole round trip); otherwise, like an SMS acknowledgement,
where Doorstep records it (the outbox row and its send time, once the provider took it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any, Protocol
from urllib.parse import urlsplit

from bot.domain.model import Channel, OutboundMessage
from bot.probe.marker import HEADER
from bot.settings import Settings

# The words of a probe: an ordinary, non-urgent question a resident might ask, so it takes
# the path most enquiries take. Never a repair or a hazard: nobody must be sent out.
SUBJECT = "A question about paying my rent"
TEXT = "Hello, could you tell me the ways I can pay my rent? Thank you."


class ProbeSendError(Exception):
    """The probe could not be sent (the relay refused it, the socket would not open...)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """An acknowledgement the probe saw: its text, when it came, the reference if known."""

    text: str
    at: datetime
    reference: str | None = None
    around: str = ""  # what the resident sees beside it (the chat's header)


@dataclass(frozen=True, slots=True)
class Sent:
    at: datetime
    answer: Answer | None = None  # the chat answers on the same connection
    message_id: str | None = None  # the probe email's Message-ID (its reply names it)


class Shopper(Protocol):
    channel: str

    async def send(self, token: str, now: datetime, wait_seconds: float) -> Sent: ...


def landlord_mailbox(settings: Settings) -> str:
    probe = settings.probe.email
    if probe is not None and probe.to_address:
        return probe.to_address
    for box in settings.email.mailboxes:
        if "@" in box.username:
            return box.username
    return settings.email.from_address


class EmailShopper:
    channel = "email"

    def __init__(self, settings: Settings) -> None:
        assert settings.probe.email is not None
        if settings.email.smtp is None:
            raise ProbeSendError("email.smtp: no SMTP relay is configured to send the probe")
        if settings.probe.email.from_address.lower() in settings.own_addresses:
            # Mail from one of our own addresses is never answered (loop protection).
            raise ProbeSendError(
                "probe.email.from_address: it is one of Doorstep's own addresses; "
                "use a mailbox of its own"
            )
        self.settings = settings
        self.smtp = settings.email.smtp
        self.sender = settings.probe.email.from_address
        self.to = landlord_mailbox(settings)

    def build(self, token: str, now: datetime) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = self.to
        # A new subject each time: the same-subject cap must not hold a probe's reply.
        mail["Subject"] = f"{SUBJECT} ({token.split('-')[3][:6]})"
        mail["Date"] = format_datetime(now)
        mail["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or "probe.invalid")
        mail[HEADER] = token
        mail.set_content(TEXT)
        return mail

    async def send(self, token: str, now: datetime, wait_seconds: float) -> Sent:
        import aiosmtplib

        smtp = self.smtp
        if smtp.auth == "oauth2":
            raise ProbeSendError("the email probe sends with a password only (email.smtp.auth)")
        mail = self.build(token, now)
        try:
            await aiosmtplib.send(
                mail,
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username or None,
                password=smtp.password if smtp.username else None,
                use_tls=smtp.security == "ssl",
                start_tls=smtp.security == "starttls",
                timeout=smtp.timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise ProbeSendError(
                f"the relay {smtp.host}:{smtp.port} did not take it: {type(exc).__name__}"
            ) from exc
        return Sent(now, message_id=str(mail["Message-ID"]))

    @property
    def reads_mailbox(self) -> bool:
        assert self.settings.probe.email is not None
        return self.settings.probe.email.mailbox is not None

    def find_answer(self, message_id: str) -> Answer | None:
        """The acknowledgement in the probe's own mailbox (a reply to `message_id`), read
        and then deleted so the mailbox does not fill up; None while it has not come."""
        from email import message_from_bytes
        from email.policy import default as default_policy

        from imapclient import IMAPClient
        from imapclient.exceptions import IMAPClientError

        assert self.settings.probe.email is not None
        box = self.settings.probe.email.mailbox
        assert box is not None
        try:
            client = IMAPClient(
                box.host, port=box.port, ssl=box.security == "ssl", timeout=box.timeout
            )
            try:
                if box.security == "starttls":
                    client.starttls()
                client.login(box.username, box.password)
                client.select_folder(box.folder)
                found = client.search(["HEADER", "In-Reply-To", message_id])
                if not found:
                    return None
                uid = found[0]
                raw = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
                client.delete_messages([uid])
                client.expunge()
            finally:
                with contextlib.suppress(Exception):
                    client.logout()
        except (IMAPClientError, OSError) as exc:
            raise ProbeSendError(f"the probe mailbox {box.host}: {type(exc).__name__}") from exc
        reply = message_from_bytes(raw, policy=default_policy)
        part = reply.get_body(("plain",))
        text = part.get_content() if part is not None else ""
        # The time it was found; the runner puts its own clock's time on it.
        return Answer(str(text), datetime.now(UTC))


class SmsShopper:
    channel = "sms"

    def __init__(self, settings: Settings) -> None:
        probe = settings.probe.sms
        assert probe is not None
        to = probe.to_number or settings.sms.from_number
        if not to:
            raise ProbeSendError("probe.sms.to_number: no number to text (sms.from_number)")
        if not (settings.twilio_account_sid and settings.twilio_auth_token):
            raise ProbeSendError("DOORSTEP_TWILIO_ACCOUNT_SID / _AUTH_TOKEN are not set")
        from channels.sms.sender import TwilioConfig, TwilioSender

        self.to = to
        self.sender = TwilioSender(
            TwilioConfig(
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token,
                from_number=probe.from_number,
                api_base_url=settings.sms.api_base_url,
                timeout=settings.sms.send_timeout_seconds,
            )
        )

    async def send(self, token: str, now: datetime, wait_seconds: float) -> Sent:
        message = OutboundMessage(
            channel=Channel.SMS,
            recipient=self.to,
            body=f"{TEXT} {token}",
            idempotency_key=token,
            kind="probe",
        )
        try:
            await self.sender.send(message)
        except Exception as exc:  # the sender's own errors: transient or permanent
            raise ProbeSendError(f"Twilio did not take it: {exc}") from exc
        return Sent(now)


def chat_socket_url(settings: Settings) -> str:
    from channels.webchat.server import SOCKET_PATH

    if settings.probe.webchat_url:
        return settings.probe.webchat_url
    parts = urlsplit(settings.public_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}{SOCKET_PATH}"


class WebchatShopper:
    channel = "webchat"

    def __init__(self, settings: Settings) -> None:
        self.url = chat_socket_url(settings)
        parts = urlsplit(settings.public_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"

    async def send(self, token: str, now: datetime, wait_seconds: float) -> Sent:
        from websockets.asyncio.client import connect
        from websockets.exceptions import WebSocketException
        from websockets.typing import Origin

        started = time.monotonic()
        try:
            async with (
                asyncio.timeout(wait_seconds),
                connect(
                    self.url,
                    origin=Origin(self.origin),
                    open_timeout=min(30.0, wait_seconds),
                    proxy=None,  # the landlord's own address, never through a proxy
                ) as ws,
            ):
                await ws.send(json.dumps({"type": "hello", "token": None, "after": 0}))
                reference, header = await _until_ready(ws)
                client_id = "probe-" + token.split("-")[3]
                await ws.send(
                    json.dumps(
                        {
                            "type": "message",
                            "id": client_id,
                            "text": f"{TEXT} {token}",
                            "display": TEXT,
                        }
                    )
                )
                sent_at = now
                while True:
                    frame = json.loads(await ws.recv())
                    if frame.get("type") == "error":
                        raise ProbeSendError(f"the chat refused it: {frame.get('code')}")
                    if frame.get("type") == "message" and frame.get("role") != "resident":
                        waited = time.monotonic() - started
                        answer = Answer(
                            str(frame.get("text") or ""),
                            sent_at + timedelta(seconds=waited),
                            frame.get("reference") or reference,
                            header,
                        )
                        with contextlib.suppress(Exception):
                            await ws.send(json.dumps({"type": "end"}))
                        return Sent(sent_at, answer)
        except TimeoutError:
            return Sent(now)  # no answer in time: the runner says so
        except (WebSocketException, OSError, ValueError) as exc:
            raise ProbeSendError(f"the chat socket {self.url}: {type(exc).__name__}") from exc


async def _until_ready(ws: Any) -> tuple[str | None, str]:
    """Read the welcome and the replay until "ready": the session's reference, if any, and
    the contact details the chat shows in its header."""
    reference: str | None = None
    header = ""
    while True:
        frame = json.loads(await ws.recv())
        if frame.get("type") == "welcome":
            reference = frame.get("reference")
            shown = (frame.get("phone"), frame.get("emergencyPhone"), frame.get("website"))
            header = " ".join(str(part) for part in shown if part)
        if frame.get("type") == "ready":
            return reference, header
        if frame.get("type") == "error":
            raise ProbeSendError(f"the chat refused the probe: {frame.get('code')}")


def shoppers_for(settings: Settings) -> dict[str, Shopper]:
    """The configured channels' shoppers; a channel set up wrongly is left out with its
    reason, returned by `problems_for`."""
    found: dict[str, Shopper] = {}
    for channel, build in _BUILDERS.items():
        if channel in settings.probe.channels:
            with contextlib.suppress(ProbeSendError):
                found[channel] = build(settings)
    return found


def problems_for(settings: Settings) -> dict[str, str]:
    found: dict[str, str] = {}
    for channel, build in _BUILDERS.items():
        if channel in settings.probe.channels:
            try:
                build(settings)
            except ProbeSendError as exc:
                found[channel] = str(exc)
    return found


_BUILDERS: dict[str, type[EmailShopper] | type[SmsShopper] | type[WebchatShopper]] = {
    "email": EmailShopper,
    "webchat": WebchatShopper,
    "sms": SmsShopper,
}
