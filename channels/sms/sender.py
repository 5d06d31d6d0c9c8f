"""Outbound texts through the Twilio SDK, wrapped (never inherited) behind our `Sender`.

The SDK is blocking (requests), so each call runs in a worker thread and never on the event
loop. Twilio's errors are translated at this edge (domain.md, style: one error hierarchy):
429 and 5xx are worth retrying; error 21610 means the resident texted STOP, which is
permanent and puts the number on hold (the delivery follow-up in channels/sms/delivery.py
records the hold from the failed outbox row); any other 4xx is permanent.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from bot.domain.model import Channel, OutboundMessage
from channels.base import PermanentSendError, SendResult, TransientSendError
from channels.sms import gsm
from channels.sms.phone import redact

log = logging.getLogger(__name__)

TWILIO_API = "https://api.twilio.com"
OPTED_OUT = 21610  # "Attempt to send to unsubscribed recipient"


class OptedOutError(PermanentSendError):
    """The number texted STOP: Twilio refuses every text to it until it texts START."""


@dataclass(frozen=True, slots=True)
class TwilioConfig:
    account_sid: str
    auth_token: str
    from_number: str | None = None
    messaging_service_sid: str | None = None
    status_callback_url: str | None = None
    api_base_url: str | None = None  # a local fake of the REST API in tests
    timeout: float = 15.0


class _RebasedHttpClient(TwilioHttpClient):  # type: ignore[misc]
    """Sends what the SDK addresses to https://api.twilio.com to another base URL instead.

    This is the SDK's documented extension point (a custom `http_client`); the client itself
    is untouched, so the real request building and response parsing are what tests exercise.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._base_url = base_url.rstrip("/")

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,
    ) -> Response:
        if url.startswith(TWILIO_API):
            url = self._base_url + url[len(TWILIO_API) :]
        return super().request(
            method,
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=allow_redirects,
        )


def translate(exc: TwilioRestException) -> Exception:
    """Twilio's error as ours: transient (retry later) or permanent."""
    status = int(exc.status or 0)
    code = exc.code
    text = f"twilio {status} error {code}: {getattr(exc, 'msg', '')}".strip()
    if code == OPTED_OUT:
        return OptedOutError(f"{text} (the number has opted out)")
    if status == 429 or status >= 500 or status == 0:
        return TransientSendError(text)
    return PermanentSendError(text)


class TwilioSender:
    """Delivers `OutboundMessage`s on the SMS channel through Twilio's Messages API."""

    channel = Channel.SMS

    def __init__(self, config: TwilioConfig) -> None:
        if not (config.from_number or config.messaging_service_sid):
            raise ValueError("a from number or a Messaging Service SID is needed to send texts")
        self._config = config
        http_client = (
            _RebasedHttpClient(config.api_base_url, config.timeout)
            if config.api_base_url
            else TwilioHttpClient(timeout=config.timeout)
        )
        # environment={} so stray TWILIO_* variables never override our settings.
        self._client = Client(
            config.account_sid, config.auth_token, http_client=http_client, environment={}
        )

    def _create(self, to: str, body: str) -> Any:
        params: dict[str, Any] = {"to": to, "body": body}
        if self._config.messaging_service_sid:
            params["messaging_service_sid"] = self._config.messaging_service_sid
        if self._config.from_number:
            params["from_"] = self._config.from_number
        if self._config.status_callback_url:
            params["status_callback"] = self._config.status_callback_url
        return self._client.messages.create(**params)

    async def send(self, message: OutboundMessage) -> SendResult:
        # One concatenated message, however long: never split on blank lines.
        body = gsm.normalise(message.body).strip()
        if not body:
            raise PermanentSendError("empty text")
        try:
            created = await asyncio.to_thread(self._create, message.recipient, body)
        except TwilioRestException as exc:
            error = translate(exc)
            log.info("text to %s not sent: %s", redact(message.recipient), type(error).__name__)
            raise error from exc
        except TwilioException as exc:  # connection problems and the like
            raise TransientSendError(f"twilio: {type(exc).__name__}: {exc}") from exc
        except OSError as exc:  # requests' ConnectionError is an OSError
            raise TransientSendError(f"twilio unreachable: {type(exc).__name__}") from exc
        return SendResult(provider_id=created.sid, status=str(created.status or "queued"))
