"""`channels.base.Sender` for email through Microsoft Graph `sendMail`.

The mail is composed exactly as for SMTP (compose.py: our Message-ID from the idempotency
key, In-Reply-To, References, Auto-Submitted) and handed to Graph as MIME, so threading and
loop protection do not depend on which way it leaves. Errors at the edge:

| what happened | raises |
|---|---|
| throttled beyond the waits, 5xx, network, no token | `TransientSendError` |
| 401/403/404 (no `Mail.Send`, mailbox not granted) | `TransientSendError` (configuration) |
| other 4xx (the message or recipient refused) | `PermanentSendError` |

A configuration fault is transient on purpose: once it is fixed, queued mail still goes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from bot.domain.model import Channel, OutboundMessage
from channels.base import PermanentSendError, SendResult, TransientSendError
from channels.email.compose import ComposeError, build_email, message_id_for
from channels.email.graph import GraphClient, GraphRefused, GraphUnavailable
from channels.email.redact import redact_address, redact_text

log = logging.getLogger(__name__)


class GraphSender:
    channel = Channel.EMAIL

    def __init__(
        self,
        client_factory: Callable[[], GraphClient],
        *,
        from_address: str,
        from_name: str | None = None,
        message_id_domain: str | None = None,
    ) -> None:
        self._client_factory = client_factory
        self.from_address = from_address
        self.from_name = from_name
        self._id_domain = message_id_domain or from_address.rpartition("@")[2] or "localhost"
        self._client: GraphClient | None = None  # kept for a batch, like an SMTP session

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        owned = self._client is None
        if owned:
            self._client = self._client_factory()
        try:
            yield
        finally:
            if owned and self._client is not None:
                client, self._client = self._client, None
                await client.aclose()

    async def send(self, message: OutboundMessage) -> SendResult:
        try:
            mail = build_email(
                message,
                from_address=self.from_address,
                from_name=self.from_name,
                domain_for_ids=self._id_domain,
            )
        except ComposeError as exc:
            raise PermanentSendError(redact_text(str(exc))) from exc
        client = self._client or self._client_factory()
        try:
            await client.send_mime(bytes(mail))
        except GraphUnavailable as exc:
            raise TransientSendError(redact_text(str(exc))) from exc
        except GraphRefused as exc:
            if exc.status in (401, 403, 404):
                raise TransientSendError(redact_text(str(exc))) from exc
            raise PermanentSendError(redact_text(str(exc))) from exc
        finally:
            if client is not self._client:
                await client.aclose()
        log.info(
            "email sent with graph to %s (kind=%s)", redact_address(message.recipient), message.kind
        )
        return SendResult(provider_id=message_id_for(message, self._id_domain))
