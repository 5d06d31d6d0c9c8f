"""What every Doorstep action shares: the turn's Doorstep metadata and the API client.

Doorstep forwards each turn with `metadata.doorstep` (channel, sender, reference, topic,
urgency, hazards...; see bot/conversation/rasa.py `turn_metadata`), so the actions act on the
interaction Doorstep already opened for the conversation.
"""

from __future__ import annotations

from typing import Any

from actions.rasa.client import DoorstepClient, DoorstepUnavailable

__all__ = [
    "DoorstepClient",
    "DoorstepUnavailable",
    "base_request",
    "client",
    "doorstep_meta",
    "organisation",
]

_client: DoorstepClient | None = None
_organisation: dict[str, Any] | None = None

# Said when Doorstep itself cannot be reached: still a way to contact us (CONTACT).
GENERIC_CONTACT = "Please call us, or try again later. The number is on our website."


def client() -> DoorstepClient:
    global _client
    if _client is None:
        _client = DoorstepClient()
    return _client


def doorstep_meta(tracker: Any) -> dict[str, Any]:
    """The Doorstep metadata of the latest user message with any (this turn's, normally)."""
    latest = tracker.latest_message or {}
    found = (latest.get("metadata") or {}).get("doorstep")
    if isinstance(found, dict):
        return found
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            meta = (event.get("metadata") or {}).get("doorstep")
            if isinstance(meta, dict):
                return meta
    return {}


def base_request(tracker: Any, **extra: Any) -> dict[str, Any]:
    meta = doorstep_meta(tracker)
    reference = meta.get("reference") or tracker.get_slot("reference")
    body: dict[str, Any] = {
        "conversation_id": tracker.sender_id,
        "channel": meta.get("channel") or "webchat",
        "sender": meta.get("sender") or tracker.sender_id,
        "reference": reference,
    }
    body.update(extra)
    return body


def organisation() -> dict[str, Any]:
    """The landlord's contact details from Doorstep (cached; empty when unreachable)."""
    global _organisation
    if _organisation is None:
        try:
            _organisation = client().get("/api/assistant/organisation")
        except DoorstepUnavailable:
            return {}
    return _organisation
