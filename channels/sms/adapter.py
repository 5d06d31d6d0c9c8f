"""The SMS channel for the registry: decode stored Twilio webhooks, send through Twilio,
and the SMS keywords answered before the conversation engine (HELP, opt-in, appointments).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from bot.domain.model import Attachment, Channel, InboundMessage
from channels.base import DecodedInbound, Decoder, InvalidPayloadError, Sender, TurnHandler
from channels.sms.optout import Keyword, keyword, single_word

if TYPE_CHECKING:
    from bot.conversation.turns import KeywordStep
    from bot.settings import Settings

SOURCE = "twilio"
STATUS_PATH = "/webhooks/twilio/status"
INBOUND_PATH = "/webhooks/twilio/sms"


def parse_form(raw: bytes) -> dict[str, str]:
    """Twilio's form body as a dict (Twilio sends each parameter once)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidPayloadError(f"form body is not UTF-8: {exc}") from exc
    return dict(parse_qsl(text, keep_blank_values=True))


def make_decoder(
    account_sid: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> Decoder:
    """Stored webhook -> InboundMessage. Twilio sends no receive time, so `received_at` is
    when the message is decoded (normally milliseconds after it was stored)."""

    def decode(raw: bytes, source: str) -> DecodedInbound:
        form = parse_form(raw)
        sid = form.get("MessageSid") or form.get("SmsSid")
        sender = form.get("From", "").strip()
        if not sid:
            raise InvalidPayloadError("no MessageSid in the Twilio form")
        if not sender:
            raise InvalidPayloadError("no From in the Twilio form")
        if account_sid and form.get("AccountSid") not in (None, account_sid):
            raise InvalidPayloadError("AccountSid is not ours")
        body = form.get("Body", "")
        media = int(form.get("NumMedia", "0") or 0)
        attachments = tuple(
            Attachment(None, form.get(f"MediaContentType{i}", "application/octet-stream"), 0)
            for i in range(min(media, 10))
        )
        message = InboundMessage(
            channel=Channel.SMS,
            external_id=sid,
            sender=sender,
            received_at=now(),
            body=body.strip(),
            recipient=form.get("To") or None,
            attachments=attachments,
            full_text=body,
            meta={k: form[k] for k in ("NumSegments", "NumMedia", "FromCountry") if k in form},
        )
        # Opt-out and opt-in words are control words, never enquiries: no interaction and no
        # acknowledgement (the webhook already put the number on hold, or lifted it).
        # YES is not decided here: it opts in only when the number is on hold.
        found = keyword(body)
        word = single_word(body)
        if found is Keyword.OPT_OUT:
            return DecodedInbound(message, no_reply_reason=f"sms opt-out: {word}")
        if found is Keyword.OPT_IN and word != "YES":
            return DecodedInbound(message, no_reply_reason=f"sms opt-in: {word}")
        return DecodedInbound(message)

    return decode


def decoder(settings: Settings) -> Decoder:
    return make_decoder(settings.twilio_account_sid)


def status_callback_url(settings: Settings) -> str | None:
    if not settings.sms.status_callbacks:
        return None
    return settings.public_url.rstrip("/") + STATUS_PATH


def sender(settings: Settings) -> Sender | None:
    if not settings.sms.enabled:
        return None
    from bot.settings import SettingsError
    from channels.sms.sender import TwilioConfig, TwilioSender

    missing = [
        name
        for name, value in (
            ("DOORSTEP_TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
            ("DOORSTEP_TWILIO_AUTH_TOKEN", settings.twilio_auth_token),
        )
        if not value
    ]
    if not (settings.sms.from_number or settings.sms.messaging_service_sid):
        missing.append("sms.from_number or sms.messaging_service_sid")
    if missing:
        raise SettingsError(f"sms.enabled is true but {', '.join(missing)} is not set")
    assert settings.twilio_account_sid and settings.twilio_auth_token
    return TwilioSender(
        TwilioConfig(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            from_number=settings.sms.from_number,
            messaging_service_sid=settings.sms.messaging_service_sid,
            status_callback_url=status_callback_url(settings),
            api_base_url=settings.sms.api_base_url,
            timeout=settings.sms.send_timeout_seconds,
        )
    )


def converses(settings: Settings) -> bool:
    return True  # a text is answered even when we cannot send (the outbox keeps it)


def keywords(settings: Settings) -> KeywordStep:
    """HELP, opt-in YES and appointment answers: run before any conversation engine."""
    from channels.sms.conversation import handle_keywords

    return handle_keywords


def turn_handler(settings: Settings) -> TurnHandler | None:
    """The SMS turns as the registry builds them (keywords, then the engine)."""
    from channels.registry import turn_handler as build

    return build(Channel.SMS, settings)
