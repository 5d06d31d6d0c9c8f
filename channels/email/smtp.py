"""Send through an SMTP server with aiosmtplib; errors become the outbox's two classes.

Transient (retry later): the server is unreachable, slow, disconnects, answers 4xx, or
rejects *our* side of the session (login, MAIL FROM, STARTTLS). Those are outages or
configuration mistakes; once fixed, the queued acknowledgements should still go out.
Permanent (give up on this message): a 5xx for the recipient or for the message itself.

OAuth 2.0 (Microsoft 365's SMTP AUTH, Google Workspace): with `tokens` set the session logs in
with SASL XOAUTH2 and an access token (aiosmtplib's `oauth_token_generator`), taken from the
cache in a thread (the providers' libraries block). No token, or a refused one, is a
transient error like a refused password: once the app registration is fixed, queued
acknowledgements still go.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from bot.domain.model import Channel, OutboundMessage
from channels.base import PermanentSendError, SendResult, TransientSendError
from channels.email.compose import ComposeError, build_email, message_id_for
from channels.email.oauth import TokenCache, TokenError
from channels.email.redact import redact_address, redact_text

log = logging.getLogger(__name__)

Security = Literal["ssl", "starttls", "none"]


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    from_address: str
    security: Security = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    from_name: str | None = None
    # Domain for generated Message-IDs; the From address's domain when not set.
    message_id_domain: str | None = None
    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    # OAuth 2.0: AUTH XOAUTH2 as `username` with a token from here instead of the password.
    tokens: TokenCache | None = field(default=None, repr=False, compare=False)


class SmtpSender:
    """`channels.base.Sender` for email.

    A message sent on its own gets an SMTP session of its own: a fresh session never
    inherits a half-broken connection. Inside `batch()` (the outbox wraps each batch it
    claims in one) a session is kept for the next message, so a burst of acknowledgements
    does not pay a connect, EHLO (and STARTTLS and login) and QUIT for every one; the
    sessions are closed when the batch ends, so none is left open between batches.
    """

    channel = Channel.EMAIL

    def __init__(self, settings: SmtpSettings) -> None:
        if settings.security not in ("ssl", "starttls", "none"):
            raise ValueError(f"smtp security must be ssl, starttls or none: {settings.security!r}")
        self.settings = settings
        self._id_domain = (
            settings.message_id_domain or settings.from_address.rpartition("@")[2] or "localhost"
        )
        # aiosmtplib would call socket.getfqdn() (a DNS lookup, on the event loop) for every
        # EHLO; the name does not change while we run, so look it up once, off the loop.
        self._local_hostname: str | None = None
        self._batches = 0  # open batch() blocks
        self._idle: list[aiosmtplib.SMTP] = []  # sessions kept for the next message

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        self._batches += 1
        try:
            yield
        finally:
            self._batches -= 1
            if self._batches == 0:
                idle, self._idle = self._idle, []
                for client in idle:
                    await _end_session(client)

    async def send(self, message: OutboundMessage) -> SendResult:
        s = self.settings
        try:
            mail = build_email(
                message,
                from_address=s.from_address,
                from_name=s.from_name,
                domain_for_ids=self._id_domain,
            )
        except ComposeError as exc:
            raise PermanentSendError(redact_text(str(exc))) from exc
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        envelope_from = message.sender or s.from_address
        try:
            if self._idle:
                try:
                    await self._send_on(self._idle.pop(), mail, envelope_from, message.recipient)
                    return self._sent(message)
                except aiosmtplib.SMTPServerDisconnected:
                    pass  # the relay closed a kept session (idle timeout): a new one will do
            client = self._new_client()
            await client.connect()
            await self._send_on(client, mail, envelope_from, message.recipient)
        except TokenError as exc:
            raise TransientSendError(f"smtp {s.host}:{s.port}: no access token: {exc}") from exc
        except aiosmtplib.SMTPAuthenticationError as exc:
            if s.tokens is not None:
                s.tokens.invalidate()  # perhaps revoked early: ask for a new one next time
            raise _translate(exc, message.recipient) from exc
        except aiosmtplib.SMTPException as exc:
            raise _translate(exc, message.recipient) from exc
        except (OSError, TimeoutError) as exc:  # includes ssl.SSLError, refused, DNS failure
            raise TransientSendError(f"smtp {s.host}:{s.port} unreachable: {exc}") from exc
        return self._sent(message)

    async def _send_on(
        self, client: aiosmtplib.SMTP, mail: EmailMessage, sender: str, recipient: str
    ) -> None:
        """Send on a connected session, then keep it for the batch or end it. A failing QUIT
        after the relay accepted the mail is not a failed send (as in `aiosmtplib.send`)."""
        try:
            await client.send_message(mail, sender=sender, recipients=[recipient])
        except BaseException:
            await _end_session(client)
            raise
        if self._batches:
            self._idle.append(client)
        else:
            await _end_session(client)

    def _sent(self, message: OutboundMessage) -> SendResult:
        log.info("email sent to %s (kind=%s)", redact_address(message.recipient), message.kind)
        return SendResult(provider_id=message_id_for(message, self._id_domain))

    def _new_client(self) -> aiosmtplib.SMTP:
        s = self.settings
        tokens = s.tokens

        async def access_token() -> str:
            assert tokens is not None
            return (await asyncio.to_thread(tokens.get)).value

        return aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            local_hostname=self._local_hostname,
            username=s.username or None,
            password=s.password if s.username and tokens is None else None,
            oauth_token_generator=access_token if tokens is not None else None,
            use_tls=s.security == "ssl",
            # "none" must stay plain: aiosmtplib would otherwise upgrade opportunistically
            # and fail on a relay with a self-signed certificate.
            start_tls=s.security == "starttls",
            tls_context=s.tls_context,
            timeout=s.timeout,
        )


async def _end_session(client: aiosmtplib.SMTP) -> None:
    """QUIT politely; a session that is already broken is just closed."""
    if not client.is_connected:
        client.close()
        return
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


def _translate(
    exc: aiosmtplib.SMTPException, recipient: str
) -> TransientSendError | PermanentSendError:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in exc.recipients]
        detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        text = redact_text(f"recipient {recipient} refused: {detail}")
        if codes and all(500 <= code < 600 for code in codes):
            return PermanentSendError(text)
        return TransientSendError(text)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        text = redact_text(f"smtp {type(exc).__name__}: {exc.code} {exc.message}")
        permanent_kind = isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError)
        if permanent_kind and 500 <= exc.code < 600:
            return PermanentSendError(text)
        if type(exc) is aiosmtplib.SMTPResponseException and 500 <= exc.code < 600:
            return PermanentSendError(text)
        return TransientSendError(text)
    # Disconnects, timeouts, connect errors, missing STARTTLS support.
    return TransientSendError(redact_text(f"smtp {type(exc).__name__}: {exc}"))
