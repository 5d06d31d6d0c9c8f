"""The email channel for the registry: decode stored raw mail, send through SMTP."""

from __future__ import annotations

from typing import TYPE_CHECKING

from channels.base import DecodedInbound, Decoder, InvalidPayloadError, Sender

if TYPE_CHECKING:
    from bot.settings import Settings


def decoder(settings: Settings) -> Decoder:
    from channels.email.bounces import failed_recipients
    from channels.email.loops import auto_reply_block_reason
    from channels.email.parse import parse_email

    own = frozenset(settings.own_addresses)
    max_bytes = settings.email.max_message_bytes

    def decode(raw: bytes, source: str) -> DecodedInbound:
        if not raw:
            raise InvalidPayloadError("empty message")
        parsed = parse_email(raw, max_bytes=max_bytes)
        reason = auto_reply_block_reason(parsed.message, own_addresses=own)
        failed = failed_recipients(parsed.message) if reason is not None else ()
        return DecodedInbound(parsed.inbound, no_reply_reason=reason, failed_recipients=failed)

    return decode


def sender(settings: Settings) -> Sender | None:
    from channels.email.wiring import graph_sender, smtp_oauth_fields, token_cache

    if settings.email.sender == "graph":
        return graph_sender(settings)
    smtp = settings.email.smtp
    if smtp is None:
        return None
    from channels.email.smtp import SmtpSender, SmtpSettings

    oauth = smtp_oauth_fields(settings)  # OAuth: channels/email/wiring.py
    return SmtpSender(
        SmtpSettings(
            host=smtp.host,
            port=smtp.port,
            security=smtp.security,
            username=smtp.username,
            password=smtp.password,
            timeout=smtp.timeout,
            from_address=settings.email.from_address,
            from_name=settings.email.from_name or settings.organisation.name,
            tokens=token_cache(oauth, username=smtp.username or "") if oauth else None,
        )
    )
