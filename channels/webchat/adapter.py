"""The web chat channel for the registry: decode stored chat payloads, deliver replies into
the chat, and the chat's conversational step.

The stored payload is our own small JSON document (`encode_payload`), written by the socket
handler before anything else happens; decoding it is pure.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.domain.model import Channel, InboundMessage, OutboundMessage
from channels.base import (
    DecodedInbound,
    Decoder,
    InvalidPayloadError,
    PermanentSendError,
    Sender,
    SendResult,
    TransientSendError,
    TurnHandler,
)

if TYPE_CHECKING:
    from bot.conversation.turns import KeywordStep
    from bot.settings import Settings
    from channels.webchat.hub import Hub
    from channels.webchat.store import ChatStore

SOURCE = "webchat"
PAYLOAD_VERSION = 1
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class ChatPayload:
    """What the socket handler stores for one resident message."""

    session_id: str
    conversation_id: str
    client_id: str
    text: str
    received_at: datetime
    opening_external_id: str | None = None  # the conversation's first message, if not this

    @property
    def external_id(self) -> str:
        return external_id(self.session_id, self.client_id)


def external_id(session_id: str, client_id: str) -> str:
    """Unique across sessions (client ids are only unique within one)."""
    return f"{session_id}:{client_id}"


def encode_payload(payload: ChatPayload) -> bytes:
    return json.dumps(
        {
            "v": PAYLOAD_VERSION,
            "session": payload.session_id,
            "conversation": payload.conversation_id,
            "client_id": payload.client_id,
            "text": payload.text,
            "received_at": payload.received_at.isoformat(),
            "opening": payload.opening_external_id,
        },
        ensure_ascii=False,
    ).encode("utf-8")


def decode(raw: bytes, source: str) -> DecodedInbound:
    """Stored chat payload -> InboundMessage.

    `thread_refs` starts with the conversation id, so a conversational engine (Rasa) keeps
    one tracker per chat; every message after the first also names the first message's
    external id, which is how the pipeline finds the interaction to join (ACK-2: a chat is
    one enquiry with one acknowledgement, not one per message).
    """
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidPayloadError(f"web chat payload is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("v") != PAYLOAD_VERSION:
        raise InvalidPayloadError("web chat payload has an unknown version")
    try:
        session = str(data["session"])
        conversation = str(data["conversation"])
        client_id = str(data["client_id"])
        text = str(data["text"])
        received_at = datetime.fromisoformat(str(data["received_at"]))
    except (KeyError, ValueError) as exc:
        raise InvalidPayloadError(f"web chat payload is incomplete: {exc}") from exc
    if received_at.tzinfo is None:
        raise InvalidPayloadError("web chat payload has a time without a zone")
    if not CLIENT_ID_RE.match(client_id):
        raise InvalidPayloadError("web chat payload has a bad client id")
    opening = data.get("opening")
    refs = (conversation, str(opening)) if opening else (conversation,)
    message = InboundMessage(
        channel=Channel.WEBCHAT,
        external_id=external_id(session, client_id),
        sender=session,
        received_at=received_at,
        body=text.strip(),
        thread_refs=refs,
        full_text=text,
        meta={"conversation_id": conversation},
    )
    return DecodedInbound(message)


def decoder(settings: Settings) -> Decoder | None:
    return decode if settings.webchat.enabled else None


class WebchatSender:
    """Delivers outbox rows to the chat: writes the reply into the session's history (once
    per outbox row, so a retried send is not shown twice) and rings the hub so open sockets
    push it at once (SAME-CHANNEL). A resident who is offline sees it when they come back.

    The sender is built from settings alone (the registry's contract); the web server binds
    it to the App's database and its hub when it starts (`bind`). Until then, sends are
    retried: only the process that holds the sockets delivers chat messages.
    """

    channel = Channel.WEBCHAT

    def __init__(self) -> None:
        self._store: ChatStore | None = None
        self._hub: Hub | None = None

    def bind(self, store: ChatStore, hub: Hub) -> None:
        self._store, self._hub = store, hub

    @property
    def hub(self) -> Hub | None:
        return self._hub

    async def send(self, message: OutboundMessage) -> SendResult:
        store, hub = self._store, self._hub
        if store is None or hub is None:
            raise TransientSendError("the web chat server is not running in this process")
        buttons = message.meta.get("buttons")
        meta: dict[str, object] = {}
        if buttons:
            try:
                meta["buttons"] = _buttons(json.loads(buttons))
            except ValueError:
                meta = {}
        line = await asyncio.to_thread(
            store.add_reply,
            message.recipient,
            outbox_key=message.idempotency_key,
            body=message.body.strip(),
            role="assistant" if message.auto else "staff",
            interaction_id=message.interaction_id,
            meta=meta,
            now=datetime.now(UTC),
        )
        if line is None:
            raise PermanentSendError("no such web chat session")
        hub.publish(message.recipient)
        return SendResult(provider_id=f"{message.recipient}#{line.seq}", status="delivered")


def _buttons(value: object) -> list[dict[str, str]]:
    if not isinstance(value, list):
        return []
    out = []
    for item in value[:6]:
        if isinstance(item, dict) and item.get("title"):
            title = str(item["title"])[:80]
            out.append({"title": title, "payload": str(item.get("payload") or title)[:300]})
    return out


def sender(settings: Settings) -> Sender | None:
    return WebchatSender() if settings.webchat.enabled else None


def converses(settings: Settings) -> bool:
    """The chat is answered by the conversation engine (bot.conversation): the built-in one,
    or Rasa with the built-in one as its fall-back."""
    return settings.webchat.enabled


def turn_handler(settings: Settings) -> TurnHandler | None:
    from channels.registry import turn_handler as build

    return build(Channel.WEBCHAT, settings)


def keywords(settings: Settings) -> KeywordStep:
    """Before any engine (Rasa too): while a member of staff is in the chat (live chat), the
    resident's messages are theirs to answer, so no engine says anything."""
    from bot.service.live import quiet_while_person_in_chat

    return quiet_while_person_in_chat
