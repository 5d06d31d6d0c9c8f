"""Repository: the queries the service layer needs, over one SQLAlchemy connection.

A `UnitOfWork` opens a transaction; nothing is written unless `commit()` is called.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

import sqlalchemy as sa

from bot.domain import references
from bot.domain.model import Channel, InboundMessage, OutboundMessage
from bot.storage import tables as t
from bot.storage.fit import fit_subject, storable


@dataclass(frozen=True, slots=True)
class StoredInbound:
    id: int
    channel: str
    source: str
    source_key: str
    raw: bytes | None
    status: str
    attempts: int


@dataclass(frozen=True, slots=True)
class InteractionRow:
    id: int
    reference: str
    contact_id: int
    channel: str
    topic: str
    urgency: str
    team: str
    owner: str | None
    status: str
    subject: str | None
    address: str | None


# Statements on the per-message path are built once, with their values bound at execution:
# building a statement and its cache key cost SQLAlchemy several times what SQLite takes to
# run it (a profile of an email burst found two thirds of the pipeline's time there). A
# prebuilt statement keeps its cache key, so executing it again skips both.
_ib = t.inbound_messages.c
_SELECT_INBOUND_BY_SOURCE = sa.select(_ib.id).where(
    _ib.source == sa.bindparam("b_source"), _ib.source_key == sa.bindparam("b_source_key")
)
_INSERT_INBOUND = t.inbound_messages.insert()
_UPDATE_INBOUND = t.inbound_messages.update().where(_ib.id == sa.bindparam("b_id"))
_FIND_DUPLICATE_INBOUND = (
    sa.select(_ib.id, _ib.interaction_id)
    .where(
        _ib.channel == sa.bindparam("b_channel"),
        _ib.external_id == sa.bindparam("b_external_id"),
        _ib.id != sa.bindparam("b_id"),
        _ib.status.in_(("processed", "joined", "suppressed", "duplicate")),
    )
    .order_by(_ib.id)
    .limit(1)
)
_ci = t.contact_identities.c
_SELECT_IDENTITY = sa.select(_ci.contact_id).where(
    _ci.kind == sa.bindparam("b_kind"), _ci.value == sa.bindparam("b_value")
)
_INSERT_CONTACT = t.contacts.insert()
_INSERT_INTERACTION = t.interactions.insert()
_UPDATE_INTERACTION = t.interactions.update().where(t.interactions.c.id == sa.bindparam("b_id"))
_INSERT_EVENT = t.events.insert()
_INSERT_SUPPRESSION = t.suppressions.insert()
_ah = t.address_holds.c
_ACTIVE_HOLD = sa.select(_ah.reason).where(
    _ah.channel == sa.bindparam("b_channel"),
    _ah.address == sa.bindparam("b_address"),
    sa.or_(_ah.until.is_(None), _ah.until > sa.bindparam("b_now")),
)
_PENDING_INBOUND = (
    sa.select(_ib.id, _ib.channel, _ib.source, _ib.source_key, _ib.raw, _ib.status, _ib.attempts)
    .where(_ib.status == "received")
    .order_by(_ib.id)
    .limit(sa.bindparam("b_limit"))
)
_ob = t.outbox.c
_OUTBOX_BY_KEY = sa.select(_ob.id).where(_ob.idempotency_key == sa.bindparam("b_key"))
_INSERT_OUTBOX = t.outbox.insert()


class UnitOfWork:
    """One transaction. Leaving the block without `commit()` rolls everything back."""

    def __init__(self, engine: sa.Engine, now: Callable[[], datetime] | None = None) -> None:
        self._engine = engine
        # The application's clock, so stored times agree with the clock that compares them
        # (caps and back-off in tests with a controlled clock).
        self.now = now or utcnow
        self.conn: sa.Connection
        # What this transaction read once and may use again (the officers' leave for every
        # message of a batch); dropped with the unit of work.
        self.memo: dict[str, Any] = {}

    def __enter__(self) -> UnitOfWork:
        self.conn = self._engine.connect()
        self.conn.begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.conn.in_transaction():
                self.conn.rollback()
        finally:
            self.conn.close()

    def commit(self) -> None:
        self.conn.commit()
        self.conn.begin()

    # ---- inbound -------------------------------------------------------------------------

    def store_raw_inbound(
        self, *, channel: Channel, source: str, source_key: str, raw: bytes | None
    ) -> int | None:
        """Insert a raw inbound message; None if that source key was stored before."""
        existing = self.conn.execute(
            _SELECT_INBOUND_BY_SOURCE, {"b_source": source, "b_source_key": source_key}
        ).scalar_one_or_none()
        if existing is not None:
            return None
        result = self.conn.execute(
            _INSERT_INBOUND,
            {
                "channel": channel.value,
                "source": source,
                "source_key": source_key,
                "raw": raw,
                "status": "received",
                "attempts": 0,
                "stored_at": self.now(),
            },
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    def get_inbound(self, inbound_id: int) -> StoredInbound:
        c = t.inbound_messages.c
        row = self.conn.execute(
            sa.select(c.id, c.channel, c.source, c.source_key, c.raw, c.status, c.attempts).where(
                c.id == inbound_id
            )
        ).one()
        return StoredInbound(*row)

    def pending_inbound(self, limit: int = 50) -> list[StoredInbound]:
        rows = self.conn.execute(_PENDING_INBOUND, {"b_limit": limit}).all()
        return [StoredInbound(*row) for row in rows]

    def note_inbound_attempt(self, inbound_id: int) -> None:
        c = t.inbound_messages.c
        self.conn.execute(
            t.inbound_messages.update().where(c.id == inbound_id).values(attempts=c.attempts + 1)
        )

    def record_parsed(self, inbound_id: int, msg: InboundMessage) -> None:
        self.conn.execute(
            _UPDATE_INBOUND,
            {
                "b_id": inbound_id,
                "external_id": msg.external_id[:500],
                "sender": msg.sender[:320],
                "recipient": (msg.recipient or "")[:320] or None,
                "subject": (msg.subject or "")[:1000] or None,
                "body": msg.body,
                "received_at": msg.received_at,
                "thread_refs": list(msg.thread_refs),
                "meta": dict(msg.meta),
            },
        )

    def set_inbound_status(
        self,
        inbound_id: int,
        status: str,
        *,
        reason: str | None = None,
        interaction_id: int | None = None,
    ) -> None:
        values: dict[str, Any] = {"b_id": inbound_id, "status": status, "reason": reason}
        if interaction_id is not None:
            values["interaction_id"] = interaction_id
        self.conn.execute(_UPDATE_INBOUND, values)

    def find_duplicate_inbound(self, inbound_id: int, channel: str, external_id: str) -> int | None:
        """An earlier message with the same provider id (same mail delivered to two inboxes)."""
        row = self.conn.execute(
            _FIND_DUPLICATE_INBOUND,
            {"b_channel": channel, "b_external_id": external_id, "b_id": inbound_id},
        ).first()
        return None if row is None else int(row.id)

    def interaction_for_external_ids(self, channel: str, ids: Sequence[str]) -> int | None:
        """The interaction a message answers, found by the provider ids it refers to."""
        if not ids:
            return None
        ib = t.inbound_messages.c
        row = self.conn.execute(
            sa.select(ib.interaction_id)
            .where(ib.channel == channel, ib.external_id.in_(ids), ib.interaction_id.is_not(None))
            .order_by(ib.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            return int(row.interaction_id)
        ob = t.outbox.c
        row = self.conn.execute(
            sa.select(ob.interaction_id)
            .where(ob.message_id.in_(ids), ob.interaction_id.is_not(None))
            .order_by(ob.id.desc())
            .limit(1)
        ).first()
        return None if row is None else int(row.interaction_id)

    # ---- contacts --------------------------------------------------------------------------

    def contact_for(self, kind: str, value: str, name: str | None = None) -> int:
        value = value.strip().lower() if kind == "email" else value.strip()
        identity = {"b_kind": kind, "b_value": value}
        found = self.conn.execute(_SELECT_IDENTITY, identity).scalar_one_or_none()
        if found is not None:
            return int(found)
        contact_id = int(
            self.conn.execute(
                _INSERT_CONTACT, {"name": name, "needs": [], "created_at": self.now()}
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        # Two messages from a new number can race here (two workers, two webhooks): the
        # identity is inserted only if absent, and the loser uses the winner's contact.
        added = self.conn.execute(
            _INSERT_IDENTITY_IF_ABSENT,
            {"contact_id": contact_id, "kind": kind, "value": value},
        ).first()
        if added is None:
            self.conn.execute(t.contacts.delete().where(t.contacts.c.id == contact_id))
            return int(self.conn.execute(_SELECT_IDENTITY, identity).scalar_one())
        return contact_id

    def add_contact_needs(self, contact_id: int, needs: Iterable[str]) -> None:
        current = self.conn.execute(
            sa.select(t.contacts.c.needs).where(t.contacts.c.id == contact_id)
        ).scalar_one()
        merged = sorted(set(current or []) | set(needs))
        if merged != sorted(current or []):
            self.conn.execute(
                t.contacts.update().where(t.contacts.c.id == contact_id).values(needs=merged)
            )

    # ---- interactions ----------------------------------------------------------------------

    def create_interaction(
        self,
        *,
        prefix: str,
        contact_id: int,
        channel: str,
        topic: str,
        urgency: str,
        intent: str | None,
        team: str,
        owner: str | None,
        subject: str | None,
        address: str | None,
        classification: dict[str, Any] | None,
        now: datetime,
    ) -> InteractionRow:
        subject = fit_subject(subject, t.interactions.c.subject) or None
        result = self.conn.execute(
            _INSERT_INTERACTION,
            {
                "contact_id": contact_id,
                "channel": channel,
                "topic": topic,
                "urgency": urgency,
                "intent": intent,
                "team": team,
                "owner": owner,
                "status": "open",
                "subject": subject,
                "address": address,
                "classification": classification,
                "created_at": now,
                "updated_at": now,
            },
        )
        new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        reference = self._unused_reference(prefix)
        self.conn.execute(_UPDATE_INTERACTION, {"b_id": new_id, "reference": reference})
        return InteractionRow(
            new_id, reference, contact_id, channel, topic, urgency, team, owner, "open",
            subject, address,
        )  # fmt: skip

    def _unused_reference(self, prefix: str) -> str:
        """A random reference no case has (PRIVACY: not guessable, bot/domain/references.py);
        a collision, about one in billions, draws again."""
        c = t.interactions.c
        for _ in range(20):
            reference = references.new_reference(prefix)
            taken = self.conn.execute(
                sa.select(c.id).where(c.reference == reference)
            ).scalar_one_or_none()
            if taken is None:
                return reference
        raise RuntimeError("no unused reference after 20 draws: is the random source broken?")

    def get_interaction(self, interaction_id: int) -> InteractionRow:
        c = t.interactions.c
        row = self.conn.execute(
            sa.select(
                c.id,
                c.reference,
                c.contact_id,
                c.channel,
                c.topic,
                c.urgency,
                c.team,
                c.owner,
                c.status,
                c.subject,
                c.address,
            ).where(c.id == interaction_id)
        ).one()
        return InteractionRow(*row)

    def recent_open_interaction(self, channel: str, address: str, since: datetime) -> int | None:
        """The sender's latest open interaction on a channel, updated since `since`, that the
        resident was told about (an automatic reply went out or is queued): one they never
        heard of (their number was on hold) is not a conversation they can follow up."""
        c = t.interactions.c
        ob = t.outbox.c
        told = sa.select(ob.id).where(ob.interaction_id == c.id, ob.auto.is_(True)).exists()
        found = self.conn.execute(
            sa.select(c.id)
            .where(
                c.channel == channel,
                c.address == address,
                c.status != "closed",
                c.updated_at >= since,
                told,
            )
            .order_by(c.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        return None if found is None else int(found)

    def recent_closed_interaction(self, channel: str, address: str, since: datetime) -> int | None:
        """The sender's latest case on a channel that staff closed since `since` (the reopen
        window). A case the assistant closed by itself (HELP answered, an opt-in, a
        confirmed appointment) is not one the resident would write back about."""
        c = t.interactions.c
        e = t.events.c
        last_close = (
            sa.select(e.kind)
            .where(e.interaction_id == c.id, e.kind.in_(("closed", "closed_automatically")))
            .order_by(e.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        found = self.conn.execute(
            sa.select(c.id)
            .where(
                c.channel == channel,
                c.address == address,
                c.status == "closed",
                c.updated_at >= since,
                last_close == "closed",
            )
            .order_by(c.updated_at.desc(), c.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        return None if found is None else int(found)

    def interaction_by_reference(self, reference: str) -> InteractionRow | None:
        reference = references.normalise(reference) or reference.strip().upper()
        found = self.conn.execute(
            sa.select(t.interactions.c.id).where(t.interactions.c.reference == reference)
        ).scalar_one_or_none()
        return None if found is None else self.get_interaction(int(found))

    def add_event(self, interaction_id: int | None, kind: str, detail: dict[str, Any]) -> None:
        self.conn.execute(
            _INSERT_EVENT,
            {
                "interaction_id": interaction_id,
                "kind": kind,
                "detail": detail,
                "created_at": self.now(),
            },
        )

    # ---- suppression, holds, caps ----------------------------------------------------------

    def record_suppression(
        self, *, inbound_id: int | None, channel: str, address: str | None, reason: str
    ) -> None:
        self.conn.execute(
            _INSERT_SUPPRESSION,
            {
                "inbound_id": inbound_id,
                "channel": channel,
                "address": address,
                "reason": reason,
                "created_at": self.now(),
            },
        )

    def hold_address(self, channel: str, address: str, reason: str, until: datetime | None) -> None:
        address = address.strip().lower()
        c = t.address_holds.c
        updated = self.conn.execute(
            t.address_holds.update()
            .where(c.channel == channel, c.address == address)
            .values(reason=reason, until=until, created_at=self.now())
        )
        if updated.rowcount == 0:
            self.conn.execute(
                t.address_holds.insert().values(
                    channel=channel,
                    address=address,
                    reason=reason,
                    until=until,
                    created_at=self.now(),
                )
            )

    def lift_hold(self, channel: str, address: str) -> None:
        c = t.address_holds.c
        self.conn.execute(
            t.address_holds.delete().where(
                c.channel == channel, c.address == address.strip().lower()
            )
        )

    def active_hold(self, channel: str, address: str, now: datetime) -> str | None:
        row = self.conn.execute(
            _ACTIVE_HOLD,
            {"b_channel": channel, "b_address": address.strip().lower(), "b_now": now},
        ).first()
        return None if row is None else str(row.reason)

    def auto_replies_in(self, interaction_id: int, *, since: datetime) -> int:
        """Automatic replies in one thread since `since` (the per-thread cap)."""
        params = {"b_interaction": interaction_id, "b_since": since}
        return int(self.conn.execute(_AUTO_REPLIES_IN, params).scalar_one())

    def auto_replies_to(
        self, recipient: str, *, since: datetime, subject: str | None
    ) -> tuple[int, int]:
        """Automatic replies to `recipient` since `since`: all of them, and those on
        `subject` (the per-sender caps), in one query."""
        row = self.conn.execute(
            _AUTO_REPLIES_TO, {"b_recipient": recipient, "b_since": since, "b_subject": subject}
        ).one()
        return int(row[0]), int(row[1] or 0)

    # ---- outbox ----------------------------------------------------------------------------

    def enqueue(self, message: OutboundMessage, *, message_id: str | None = None) -> int | None:
        """Write an outbound message in the current transaction. None if the key exists."""
        exists = self.conn.execute(
            _OUTBOX_BY_KEY, {"b_key": message.idempotency_key}
        ).scalar_one_or_none()
        if exists is not None:
            return None
        now = self.now()
        result = self.conn.execute(
            _INSERT_OUTBOX,
            {
                "idempotency_key": message.idempotency_key,
                "channel": message.channel.value,
                "kind": message.kind,
                "auto": message.auto,
                "recipient": message.recipient,
                "sender": message.sender,
                # "Re: <the resident's subject> [DS-...]" may outgrow the column; the
                # reference at the end is kept (bot/storage/fit.py).
                "subject": fit_subject(message.subject, _ob.subject),
                "body": storable(message.body),
                "html": storable(message.html) if message.html is not None else None,
                "message_id": message_id,
                "in_reply_to": message.in_reply_to,
                "references": list(message.references),
                "meta": dict(message.meta),
                "interaction_id": message.interaction_id,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": max(now, message.not_before or now),
                "created_at": now,
            },
        )
        return int(result.inserted_primary_key[0])  # type: ignore[index]

    # ---- mail cursors ----------------------------------------------------------------------

    def load_cursor(self, mailbox: str) -> tuple[int | None, int]:
        row = self.conn.execute(
            sa.select(t.mail_cursors.c.uidvalidity, t.mail_cursors.c.last_uid).where(
                t.mail_cursors.c.mailbox == mailbox
            )
        ).first()
        return (None, 0) if row is None else (int(row.uidvalidity), int(row.last_uid))

    def save_cursor(self, mailbox: str, uidvalidity: int, last_uid: int) -> None:
        c = t.mail_cursors.c
        updated = self.conn.execute(
            t.mail_cursors.update()
            .where(c.mailbox == mailbox)
            .values(uidvalidity=uidvalidity, last_uid=last_uid)
        )
        if updated.rowcount == 0:
            self.conn.execute(
                t.mail_cursors.insert().values(
                    mailbox=mailbox, uidvalidity=uidvalidity, last_uid=last_uid
                )
            )


def idempotency_key(*parts: object) -> str:
    """A stable key for one intended send, e.g. ("ack", inbound_id)."""
    text = ":".join(str(p) for p in parts)
    if len(text) <= 200:
        return text
    return text[:120] + ":" + hashlib.sha256(text.encode()).hexdigest()


_AUTO_REPLIES_TO = sa.select(
    sa.func.count(),
    sa.func.sum(
        sa.case((_ob.meta["thread_subject"].as_string() == sa.bindparam("b_subject"), 1), else_=0)
    ),
).where(
    _ob.auto.is_(True),
    _ob.created_at >= sa.bindparam("b_since"),
    _ob.recipient == sa.bindparam("b_recipient"),
)


_AUTO_REPLIES_IN = sa.select(sa.func.count()).where(
    _ob.auto.is_(True),
    _ob.created_at >= sa.bindparam("b_since"),
    _ob.interaction_id == sa.bindparam("b_interaction"),
)


# INSERT ... ON CONFLICT DO NOTHING RETURNING, the same words on SQLite (3.35+) and PostgreSQL.
# Written as text: SQLAlchemy's SQLite on_conflict_do_nothing() has no cache key, so it was
# compiled again for every new resident (a fifth of a burst's statement-building time).
_INSERT_IDENTITY_IF_ABSENT = sa.text(
    "INSERT INTO contact_identities (contact_id, kind, value) "
    "VALUES (:contact_id, :kind, :value) ON CONFLICT DO NOTHING RETURNING id"
)


def utcnow() -> datetime:
    return datetime.now(UTC)


def minutes_ago(now: datetime, minutes: int) -> datetime:
    return now - timedelta(minutes=minutes)
