"""The provider's webhook bodies turned into one event type, and back from storage.

Pure functions: no I/O. Each event keeps the provider's own JSON for it (`raw`), which is
what the intake stores; `SocialEvent.load` reads a stored one.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Platform = Literal["messenger", "instagram", "x"]
Kind = Literal["dm", "comment", "mention", "echo", "delivery", "read", "other"]


@dataclass(frozen=True, slots=True)
class SocialEvent:
    platform: Platform
    kind: Kind
    key: str  # the provider's id of the message or comment ("" for receipts)
    sender_id: str = ""
    recipient_id: str = ""  # the Page, Instagram account or X account it was sent to
    text: str = ""
    sender_name: str | None = None
    at: datetime | None = None
    post_id: str | None = None  # comments: the post or media they are on
    parent_id: str | None = None  # comments: the comment they answer
    mids: tuple[str, ...] = ()  # delivery receipts: the messages delivered
    watermark: int | None = None  # delivery and read receipts: everything before this
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def source_key(self) -> str:
        """Unique per platform: Meta redelivers webhooks, and a redelivery stores nothing."""
        return f"{self.platform}:{self.kind}:{self.key}"

    @property
    def address(self) -> str:
        """How we know the resident on this platform: a page-scoped, Instagram or X id."""
        prefix = {"messenger": "fb", "instagram": "ig", "x": "x"}[self.platform]
        return f"{prefix}:{self.sender_id}"

    def dump(self) -> bytes:
        """What the intake stores: the provider's own event with where it came from."""
        return json.dumps(
            {
                "platform": self.platform,
                "kind": self.kind,
                "account": self.recipient_id,
                "sender_name": self.sender_name,  # X sends names beside the event
                "event": self.raw,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")


class PayloadError(ValueError):
    """A webhook body that is not the provider's JSON (a 400 at the edge)."""


def _ms(value: object) -> datetime | None:
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC)
    if isinstance(value, str) and value.isdigit():
        return _ms(int(value))
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def at_ms(value: int) -> datetime:
    """A provider's millisecond timestamp (a read receipt's watermark) as a time."""
    return datetime.fromtimestamp(value / 1000, UTC)


def _str(value: object) -> str:
    return value if isinstance(value, str) else str(value) if isinstance(value, int) else ""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def loads(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise PayloadError("the body is not JSON") from exc
    if not isinstance(payload, dict):
        raise PayloadError("the body is not a JSON object")
    return payload


# ---- Meta: Messenger and Instagram -------------------------------------------------------


def meta_events(payload: dict[str, Any]) -> list[SocialEvent]:
    """Every event in one Meta webhook body (`object` page or instagram; `entry[]` with
    `messaging[]` for direct messages and receipts, `changes[]` for comments)."""
    obj = payload.get("object")
    if obj not in ("page", "instagram"):
        return []
    platform: Platform = "messenger" if obj == "page" else "instagram"
    found: list[SocialEvent] = []
    for entry in _list(payload.get("entry")):
        entry = _dict(entry)
        account = _str(entry.get("id"))
        for item in _list(entry.get("messaging")):
            event = _messaging(platform, account, _dict(item))
            if event is not None:
                found.append(event)
        for change in _list(entry.get("changes")):
            event = _change(platform, account, _dict(change))
            if event is not None:
                found.append(event)
    return found


def _messaging(platform: Platform, account: str, item: dict[str, Any]) -> SocialEvent | None:
    sender = _str(_dict(item.get("sender")).get("id"))
    recipient = _str(_dict(item.get("recipient")).get("id")) or account
    at = _ms(item.get("timestamp"))
    if "delivery" in item:
        delivery = _dict(item["delivery"])
        mids = tuple(_str(m) for m in _list(delivery.get("mids")) if _str(m))
        watermark = delivery.get("watermark")
        return SocialEvent(
            platform, "delivery", "", sender, recipient, at=at, mids=mids,
            watermark=watermark if isinstance(watermark, int) else None, raw=item,
        )  # fmt: skip
    if "read" in item:
        watermark = _dict(item["read"]).get("watermark")
        return SocialEvent(
            platform, "read", "", sender, recipient, at=at,
            watermark=watermark if isinstance(watermark, int) else None, raw=item,
        )  # fmt: skip
    message = item.get("message")
    if not isinstance(message, dict):
        postback = _dict(item.get("postback"))
        if not postback:
            return None  # reactions, referrals, opt-ins: nothing a resident wrote
        key = _str(postback.get("mid")) or f"postback-{sender}-{item.get('timestamp')}"
        text = _str(postback.get("title")) or _str(postback.get("payload"))
        return SocialEvent(platform, "dm", key, sender, recipient, text, at=at, raw=item)
    mid = _str(message.get("mid"))
    if not mid:
        return None
    if message.get("is_echo"):
        # Our own sends come back as echoes: never an enquiry.
        return SocialEvent(platform, "echo", mid, sender, recipient, at=at, raw=item)
    text = _str(message.get("text"))
    if not text and message.get("attachments"):
        kinds = {_str(_dict(a).get("type")) for a in _list(message.get("attachments"))}
        text = f"[{', '.join(sorted(k for k in kinds if k)) or 'attachment'}]"
    return SocialEvent(platform, "dm", mid, sender, recipient, text, at=at, raw=item)


def _change(platform: Platform, account: str, change: dict[str, Any]) -> SocialEvent | None:
    field_name = change.get("field")
    value = _dict(change.get("value"))
    if platform == "messenger" and field_name == "feed":
        if value.get("item") != "comment" or value.get("verb") != "add":
            return None  # likes, reactions, edits, removals
        author = _dict(value.get("from"))
        comment_id = _str(value.get("comment_id"))
        if not comment_id or _str(author.get("id")) == account:
            return None  # the Page's own comments (our holding replies) are echoes
        return SocialEvent(
            platform, "comment", comment_id, _str(author.get("id")), account,
            _str(value.get("message")), sender_name=_str(author.get("name")) or None,
            at=_ms(value.get("created_time")), post_id=_str(value.get("post_id")) or None,
            parent_id=_str(value.get("parent_id")) or None, raw=change,
        )  # fmt: skip
    if platform == "instagram" and field_name in ("comments", "live_comments"):
        author = _dict(value.get("from"))
        comment_id = _str(value.get("id"))
        if not comment_id or _str(author.get("id")) == account:
            return None
        media = _dict(value.get("media"))
        return SocialEvent(
            platform, "comment", comment_id, _str(author.get("id")), account,
            _str(value.get("text")), sender_name=_str(author.get("username")) or None,
            post_id=_str(media.get("id")) or None,
            parent_id=_str(value.get("parent_id")) or None, raw=change,
        )  # fmt: skip
    return None


# ---- X (Account Activity API) -------------------------------------------------------------


def x_events(payload: dict[str, Any]) -> list[SocialEvent]:
    """Direct messages and mentions from an X Account Activity webhook body."""
    account = _str(payload.get("for_user_id"))
    users = _dict(payload.get("users"))
    found: list[SocialEvent] = []
    for item in _list(payload.get("direct_message_events")):
        item = _dict(item)
        if item.get("type") != "message_create":
            continue
        create = _dict(item.get("message_create"))
        sender = _str(create.get("sender_id"))
        key = _str(item.get("id"))
        if not key or not sender:
            continue
        kind: Kind = "echo" if sender == account else "dm"
        name = _str(_dict(users.get(sender)).get("name")) or None
        text = _str(_dict(create.get("message_data")).get("text"))
        at = _ms(item.get("created_timestamp"))
        found.append(
            SocialEvent("x", kind, key, sender, account, text, sender_name=name, at=at, raw=item)
        )
    for tweet in _list(payload.get("tweet_create_events")):
        tweet = _dict(tweet)
        user = _dict(tweet.get("user"))
        sender = _str(user.get("id_str")) or _str(user.get("id"))
        key = _str(tweet.get("id_str")) or _str(tweet.get("id"))
        if not key or not sender or sender == account:
            continue  # our own posts
        text = _str(tweet.get("text"))
        found.append(
            SocialEvent(
                "x", "mention", key, sender, account, text,
                sender_name=_str(user.get("name")) or None, at=_ms(tweet.get("timestamp_ms")),
                post_id=_str(tweet.get("in_reply_to_status_id_str")) or None, raw=tweet,
            )
        )  # fmt: skip
    return found


def load(raw: bytes) -> SocialEvent:
    """A stored event (`SocialEvent.dump`) read back."""
    stored = loads(raw)
    platform, kind, event = stored.get("platform"), stored.get("kind"), _dict(stored.get("event"))
    account = _str(stored.get("account"))
    if platform == "x":
        events = "direct_message_events" if kind in ("dm", "echo") else "tweet_create_events"
        found = x_events({"for_user_id": account, events: [event]})
    elif platform in ("messenger", "instagram"):
        obj = "page" if platform == "messenger" else "instagram"
        part = "changes" if kind == "comment" else "messaging"
        found = meta_events({"object": obj, "entry": [{"id": account, part: [event]}]})
    else:
        raise PayloadError(f"unknown platform {platform!r}")
    if not found:
        raise PayloadError("the stored event has no message in it")
    name = stored.get("sender_name")
    if isinstance(name, str) and found[0].sender_name is None:
        return dataclasses.replace(found[0], sender_name=name)
    return found[0]
