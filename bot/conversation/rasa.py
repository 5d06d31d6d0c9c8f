"""Rasa as a conversation engine: forward a turn to Rasa's REST channel, its replies back
as `Reply` values, and the built-in engine as the fall-back.

`RasaEngine.respond` is called by the one caller (bot.conversation.turns) after the pipeline
stored the message, opened or joined the interaction and started its SLA clocks. It keeps
these promises:

- SAME-CHANNEL: Rasa's replies go to the resident on the channel they used; the caller
  writes them through the outbox under the channel's rules.
- ACK-2: the first reply to a new enquiry `acknowledges` it, so sending it stops the
  acknowledgement clock, exactly as the standard acknowledgement would.
- Nothing lost: before Rasa is asked, the turn is made durable (`Conversation.checkpoint`:
  the standard acknowledgement written *held* and the transaction committed). When Rasa
  answers, the caller withdraws the held acknowledgement; when Rasa fails, the fall-back
  engine answers, or the held acknowledgement is released at once. A crash in between
  still leaves the acknowledgement to go out.

The commit before the HTTP call matters for another reason too: Rasa's custom actions call
back into Doorstep's assistant API (bot/web/assistant_api.py) on another connection, and must
see the interaction this turn opened, and must not wait on our write lock (SQLite).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import httpx
import sqlalchemy as sa

from bot.conversation.engine import Button, ConversationEngine, Reply, Turn
from bot.domain.model import InboundMessage
from bot.settings import Settings
from bot.storage import tables as t

log = logging.getLogger(__name__)

REST_WEBHOOK = "/webhooks/rest/webhook"
ENGINE = "rasa"
# Rasa's REST replies are JSON objects; only these fields are read from them.
JsonObject = dict[str, object]


class RasaError(Exception):
    """Rasa did not give a usable answer (down, slow, an error status, or nothing to say)."""


def conversation_id(message: InboundMessage) -> str:
    """Rasa's sender id: stable for one conversation on one channel.

    Chat channels put their conversation id in `thread_refs`; SMS and social fall back to
    the resident's number or handle, so a texted conversation keeps its Rasa tracker.
    """
    key = message.thread_refs[0] if message.thread_refs else message.sender
    return f"{message.channel.value}:{key}"


def reply_texts(replies: Sequence[JsonObject]) -> list[tuple[str, list[dict[str, str]]]]:
    """Rasa's REST replies as (text, buttons); buttons are also written into the text so a
    channel that cannot show them (SMS) still offers the choices."""
    out: list[tuple[str, list[dict[str, str]]]] = []
    for reply in replies:
        text = str(reply.get("text") or "").strip()
        raw_buttons = reply.get("buttons") or []
        buttons = [
            {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
            for b in (raw_buttons if isinstance(raw_buttons, list) else [])
            if isinstance(b, dict) and b.get("title")
        ]
        if buttons:
            text = "\n".join([text, *(f"- {b['title']}" for b in buttons)]).strip()
        if reply.get("image"):
            text = "\n".join([text, str(reply["image"])]).strip()
        if text:
            out.append((text, buttons))
    return out


class RasaEngine:
    """A `ConversationEngine` that asks Rasa; see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        fallback: ConversationEngine | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        if not settings.rasa.url:
            raise ValueError("rasa.url is not set (DOORSTEP_RASA__URL)")
        self.settings = settings
        self.url = settings.rasa.url.rstrip("/") + REST_WEBHOOK
        self.fallback = fallback
        self._client = client
        self._owns_client = client is None

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

    def respond(self, turn: Turn) -> list[Reply]:
        sender_id = conversation_id(turn.message)
        # The interaction, its clocks and the held acknowledgement durable and visible to
        # Rasa's actions (which call our API on another connection) before we wait on Rasa.
        turn.conversation.checkpoint()
        try:
            answered = self._ask(sender_id, turn)
        except RasaError as exc:
            log.warning("Rasa did not answer for %s: %s", turn.reference, exc)
            turn.conversation.note(
                turn.interaction_id,
                "assistant_unavailable",
                {"engine": ENGINE, "conversation_id": sender_id, "reason": str(exc)[:500]},
            )
            return self.fallback.respond(turn) if self.fallback is not None else []
        turn.conversation.note(
            turn.interaction_id,
            "assistant_turn",
            {
                "engine": ENGINE,
                "conversation_id": sender_id,
                "external_id": turn.message.external_id,
                "replies": [text for text, _ in answered],
            },
        )
        return [
            Reply(
                text,
                buttons=tuple(Button(b["title"], b["payload"]) for b in buttons),
                acknowledges=index == 0 and turn.is_new,  # ACK-2: this reply acknowledges
                urgent=turn.pressing,
                engine=ENGINE,
            )
            for index, (text, buttons) in enumerate(answered)
        ]

    def _ask(self, sender_id: str, turn: Turn) -> list[tuple[str, list[dict[str, str]]]]:
        payload = {
            "sender": sender_id,
            "message": turn.message.body.strip() or "(no text)",
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


def turn_metadata(turn: Turn) -> dict[str, object]:
    """What Rasa's actions need to know about the turn (read from the tracker's metadata)."""
    message = turn.message
    classification = turn.classification
    data: dict[str, object] = {
        "channel": message.channel.value,
        "sender": message.sender,
        "reference": turn.reference,
        "interaction_id": turn.interaction_id,
        "new": turn.is_new,
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
