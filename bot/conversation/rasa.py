"""Forward a channel's turns to Rasa's REST channel and send its replies through the outbox.

`RasaTurnHandler` is a channel `TurnHandler` (web chat, SMS, social): the pipeline has already
stored the message, opened or joined the interaction and started its SLA clocks when it is
called. It keeps these promises:

- SAME-CHANNEL: Rasa's replies go to the resident on the channel they used, via the outbox.
- ACK-2: the first reply to a new enquiry carries the acknowledgement clock, so sending it
  stops that clock, exactly as the standard acknowledgement would.
- Nothing lost: before Rasa is asked, the standard acknowledgement is written to the outbox
  *held* (not before now + the Rasa timeout + a margin) and the transaction is committed.
  When Rasa answers, the held acknowledgement is withdrawn; when Rasa fails, the wrapped
  fallback handler (the channel's built-in assistant) answers, or the held acknowledgement
  is released at once. A crash in between still leaves the acknowledgement to go out.

The commit before the HTTP call matters for another reason too: Rasa's custom actions call
back into Doorstep's assistant API (bot/web/assistant_api.py) on another connection, and must
see the interaction this turn opened, and must not wait on our write lock (SQLite).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import sqlalchemy as sa

from bot.domain.model import InboundMessage, OutboundMessage
from bot.service.outbound import enqueue_reply
from bot.settings import Settings
from bot.storage import tables as t
from bot.storage.repository import UnitOfWork, idempotency_key
from channels.base import TurnHandler

if TYPE_CHECKING:
    from bot.service.pipeline import Turn

log = logging.getLogger(__name__)

REST_WEBHOOK = "/webhooks/rest/webhook"
# How long past the Rasa timeout the held acknowledgement waits before it goes anyway.
HOLD_MARGIN_SECONDS = 30.0


class RasaError(Exception):
    """Rasa did not give a usable answer (down, slow, an error status, or nothing to say)."""


def conversation_id(message: InboundMessage) -> str:
    """Rasa's sender id: stable for one conversation on one channel.

    Chat channels put their conversation id in `thread_refs`; SMS and social fall back to
    the resident's number or handle, so a texted conversation keeps its Rasa tracker.
    """
    key = message.thread_refs[0] if message.thread_refs else message.sender
    return f"{message.channel.value}:{key}"


def reply_texts(replies: Sequence[dict[str, Any]]) -> list[tuple[str, list[dict[str, str]]]]:
    """Rasa's REST replies as (text, buttons); buttons are also written into the text so a
    channel that cannot show them (SMS) still offers the choices."""
    out: list[tuple[str, list[dict[str, str]]]] = []
    for reply in replies:
        text = str(reply.get("text") or "").strip()
        raw_buttons = reply.get("buttons") or []
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in raw_buttons
            if isinstance(b, dict) and b.get("title")
        ]
        if buttons:
            text = "\n".join([text, *(f"- {b['title']}" for b in buttons)]).strip()
        if reply.get("image"):
            text = "\n".join([text, str(reply["image"])]).strip()
        if text:
            out.append((text, buttons))
    return out


class RasaTurnHandler:
    """Runs a channel's conversation turns through Rasa; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        fallback: TurnHandler | None = None,
        client: httpx.Client | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if not settings.rasa.url:
            raise ValueError("rasa.url is not set (DOORSTEP_RASA__URL)")
        self.settings = settings
        self.url = settings.rasa.url.rstrip("/") + REST_WEBHOOK
        self.fallback = fallback
        self._client = client
        self._owns_client = client is None
        self._now = now or (lambda: datetime.now(UTC))

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            # Built on first use, never at import or construction time (nothing connects early).
            self._client = httpx.Client(timeout=self.settings.rasa.timeout_seconds)
        return self._client

    def close(self) -> None:
        if self._client is not None and self._owns_client:
            self._client.close()
            self._client = None

    # ---- the turn ------------------------------------------------------------------------

    def __call__(self, turn: Turn) -> bool:
        uow: UnitOfWork = turn.uow
        message: InboundMessage = turn.message
        interaction_id: int | None = turn.outcome.interaction_id
        ack: OutboundMessage | None = turn.acknowledgement
        sender_id = conversation_id(message)

        held_id = self._hold(uow, ack) if ack is not None else None
        # Make the interaction, its clocks and the held acknowledgement durable and visible to
        # Rasa's actions (which call our API on another connection) before we wait on Rasa.
        uow.commit()

        try:
            replies = self._ask(sender_id, message, turn)
        except RasaError as exc:
            log.warning("Rasa did not answer for %s: %s", turn.outcome.reference, exc)
            uow.add_event(
                interaction_id,
                "assistant_unavailable",
                {"engine": "rasa", "conversation_id": sender_id, "reason": str(exc)[:500]},
            )
            handled = bool(self.fallback(turn)) if self.fallback is not None else False
            if held_id is not None:
                if handled:
                    self._withdraw(uow, held_id)
                else:
                    self._release(uow, held_id)
            # The held acknowledgement is already in the outbox (same idempotency key), so the
            # pipeline writing it again is a no-op: either answer is safe.
            return handled

        outbox_ids: list[int | None] = []
        # Every reply under its channel's rules (SMS: GSM-7, segments, quiet hours).
        found = turn.classification
        pressing = found is not None and found.urgency in ("emergency", "urgent")
        for index, (text, buttons) in enumerate(replies):
            meta: dict[str, str] = {"engine": "rasa", "conversation_id": sender_id}
            if buttons:
                meta["buttons"] = json.dumps(buttons)
            if index == 0 and ack is not None and "clock" in ack.meta:
                meta["clock"] = ack.meta["clock"]  # ACK-2: this reply is the acknowledgement
            outbox_ids.append(
                enqueue_reply(
                    uow,
                    self.settings,
                    OutboundMessage(
                        channel=message.channel,
                        recipient=message.sender,
                        body=text,
                        idempotency_key=idempotency_key(
                            "rasa", message.channel.value, message.external_id, index
                        ),
                        sender=ack.sender if ack is not None else None,
                        interaction_id=interaction_id,
                        kind="reply",
                        meta=meta,
                    ),
                    turn.pipeline.now(),  # the app's clock: quiet hours are judged by it
                    urgent=pressing,
                )
            )
        if held_id is not None:
            self._withdraw(uow, held_id)
        uow.add_event(
            interaction_id,
            "assistant_turn",
            {
                "engine": "rasa",
                "conversation_id": sender_id,
                "external_id": message.external_id,
                "replies": [text for text, _ in replies],
                "outbox_ids": outbox_ids,
            },
        )
        return True

    # ---- Rasa ----------------------------------------------------------------------------

    def _ask(
        self, sender_id: str, message: InboundMessage, turn: Turn
    ) -> list[tuple[str, list[dict[str, str]]]]:
        payload = {
            "sender": sender_id,
            "message": message.body.strip() or "(no text)",
            "metadata": {"doorstep": turn_metadata(turn)},
        }
        try:
            response = self.client.post(self.url, json=payload)
        except httpx.HTTPError as exc:
            raise RasaError(f"{type(exc).__name__}: {exc}") from exc
        if response.status_code != 200:
            raise RasaError(f"HTTP {response.status_code} from Rasa")
        try:
            data = response.json()
        except ValueError as exc:
            raise RasaError("Rasa answered with something that is not JSON") from exc
        if not isinstance(data, list):
            raise RasaError("Rasa answered with JSON that is not a list of replies")
        replies = reply_texts([r for r in data if isinstance(r, dict)])
        if not replies:
            # A silent assistant leaves the resident with nothing: treat it as a failure.
            raise RasaError("Rasa had nothing to say")
        return replies

    # ---- the held acknowledgement -----------------------------------------------------------

    def _hold(self, uow: UnitOfWork, ack: OutboundMessage) -> int | None:
        hold = timedelta(seconds=self.settings.rasa.timeout_seconds + HOLD_MARGIN_SECONDS)
        held = OutboundMessage(
            channel=ack.channel,
            recipient=ack.recipient,
            body=ack.body,
            idempotency_key=ack.idempotency_key,
            subject=ack.subject,
            sender=ack.sender,
            in_reply_to=ack.in_reply_to,
            references=ack.references,
            interaction_id=ack.interaction_id,
            kind=ack.kind,
            auto=ack.auto,
            not_before=self._now() + hold,
            meta=ack.meta,
        )
        return uow.enqueue(held)

    def _withdraw(self, uow: UnitOfWork, outbox_id: int) -> None:
        c = t.outbox.c
        uow.conn.execute(
            t.outbox.update()
            .where(c.id == outbox_id, c.status == "pending")
            .values(status="withdrawn", last_error="answered by the assistant")
        )

    def _release(self, uow: UnitOfWork, outbox_id: int) -> None:
        c = t.outbox.c
        uow.conn.execute(
            t.outbox.update()
            .where(c.id == outbox_id, c.status == "pending")
            .values(next_attempt_at=self._now())
        )


def turn_metadata(turn: Turn) -> dict[str, Any]:
    """What Rasa's actions need to know about the turn (read from the tracker's metadata)."""
    message: InboundMessage = turn.message
    classification = turn.classification
    data: dict[str, Any] = {
        "channel": message.channel.value,
        "sender": message.sender,
        "reference": turn.outcome.reference,
        "interaction_id": turn.outcome.interaction_id,
        "new": turn.acknowledgement is not None,
        "attachments": len(message.attachments),
    }
    if classification is not None:
        data.update(
            topic=classification.topic,
            urgency=classification.urgency,
            intent=classification.intent,
            hazards=[h.rule for h in classification.hazards],
            signposts=sorted({h.signpost for h in classification.hazards}),
        )
    return data


def outbox_status(conn: sa.Connection, outbox_id: int) -> str | None:
    """For tests and the CLI: the status of one outbox row."""
    found = conn.execute(sa.select(t.outbox.c.status).where(t.outbox.c.id == outbox_id)).first()
    return None if found is None else str(found.status)
