"""The chat's own storage: sessions and the per-session message history (resume).

Plain synchronous SQLAlchemy; the server calls it through `asyncio.to_thread`. Sequence
numbers are taken with one `UPDATE ... RETURNING` on the session row in the same transaction
as the message is written, so within a session they are gap-free and in commit order (the
row lock on PostgreSQL, the single writer on SQLite): a reader that has seen `seq` never
misses a row committed later with a smaller number.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.storage import tables as t
from bot.storage.tables_webchat import webchat_messages, webchat_sessions

REPLAY_LIMIT = 500  # the most history a fresh page load gets


@dataclass(frozen=True, slots=True)
class ChatSession:
    id: str
    conversation_id: str
    opening_external_id: str | None
    interaction_id: int | None
    reference: str | None
    last_seq: int
    # A new session started because the browser's token had been idle too long (PRIVACY:
    # the next person at a shared computer must not see the last one's chat).
    expired: bool = False


@dataclass(frozen=True, slots=True)
class ChatLine:
    """One message as the widget shows it."""

    seq: int
    role: str
    body: str
    created_at: datetime
    client_id: str | None = None
    reference: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def frame(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": "message",
            "seq": self.seq,
            "role": self.role,
            "text": self.body,
            "at": self.created_at.isoformat(),
        }
        if self.client_id is not None:
            data["id"] = self.client_id
        if self.reference:
            data["reference"] = self.reference
        if self.meta.get("buttons"):
            data["buttons"] = self.meta["buttons"]
        return data


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session(row: Any, *, expired: bool = False) -> ChatSession:
    return ChatSession(
        id=row.id,
        conversation_id=row.conversation_id,
        opening_external_id=row.opening_external_id,
        interaction_id=row.interaction_id,
        reference=row.reference,
        last_seq=int(row.last_seq),
        expired=expired,
    )


def _line(row: Any) -> ChatLine:
    return ChatLine(
        seq=int(row.seq),
        role=row.role,
        body=row.body,
        created_at=row.created_at,
        client_id=row.client_id,
        reference=row.reference,
        meta=dict(row.meta or {}),
    )


class ChatStore:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # ---- sessions ------------------------------------------------------------------------

    def open_session(
        self,
        token: str | None,
        now: datetime,
        origin: str | None = None,
        idle: timedelta | None = None,
    ) -> tuple[ChatSession, str]:
        """The session for a browser's token, or a new one (with a new token) when the token
        is missing, unknown, ended or idle for longer than `idle`. Returns the session and
        the token the browser should keep."""
        c = webchat_sessions.c
        expired = False
        with self.engine.begin() as conn:
            if token:
                row = conn.execute(
                    sa.select(webchat_sessions).where(c.token_hash == hash_token(token))
                ).first()
                if row is not None and idle is not None and row.last_seen_at < now - idle:
                    # Idle too long: the token stops working for good (a copy of it, taken
                    # from a shared computer, cannot be replayed). The chat's messages and
                    # its case stay: nothing the resident sent is lost.
                    _revoke(conn, row.id)
                    expired = True
                elif row is not None:
                    conn.execute(
                        webchat_sessions.update().where(c.id == row.id).values(last_seen_at=now)
                    )
                    return _session(row), token
            token = secrets.token_urlsafe(32)
            session_id = "ws-" + secrets.token_hex(12)
            conn.execute(
                webchat_sessions.insert().values(
                    id=session_id,
                    token_hash=hash_token(token),
                    conversation_id="wc-" + secrets.token_hex(12),
                    last_seq=0,
                    origin=(origin or "")[:300] or None,
                    created_at=now,
                    last_seen_at=now,
                )
            )
            row = conn.execute(sa.select(webchat_sessions).where(c.id == session_id)).one()
            return _session(row, expired=expired), token

    def end_session(self, session_id: str) -> None:
        """ "End chat and clear this device": the session's token stops working at once. The
        history stays on the server with the case (staff still see it; retention applies)."""
        with self.engine.begin() as conn:
            _revoke(conn, session_id)

    def get_session(self, session_id: str) -> ChatSession | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(webchat_sessions).where(webchat_sessions.c.id == session_id)
            ).first()
        return None if row is None else _session(row)

    # ---- history ---------------------------------------------------------------------------

    def _next_seq(self, conn: sa.Connection, session_id: str) -> int:
        c = webchat_sessions.c
        seq = conn.execute(
            webchat_sessions.update()
            .where(c.id == session_id)
            .values(last_seq=c.last_seq + 1)
            .returning(c.last_seq)
        ).scalar_one()
        return int(seq)

    def find_resident_line(self, session_id: str, client_id: str) -> ChatLine | None:
        c = webchat_messages.c
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(webchat_messages).where(
                    c.session_id == session_id, c.client_id == client_id
                )
            ).first()
        return None if row is None else _line(row)

    def add_resident_line(
        self, session_id: str, client_id: str, body: str, external_id: str, now: datetime
    ) -> ChatLine:
        """Record what the resident sent (once per client id) and, for the session's first
        message, remember its external id so later messages join the same interaction."""
        c = webchat_messages.c
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(webchat_messages).where(
                    c.session_id == session_id, c.client_id == client_id
                )
            ).first()
            if row is not None:
                return _line(row)
            seq = self._next_seq(conn, session_id)
            conn.execute(
                webchat_messages.insert().values(
                    session_id=session_id,
                    seq=seq,
                    role="resident",
                    body=body,
                    client_id=client_id,
                    meta={},
                    created_at=now,
                )
            )
            s = webchat_sessions.c
            conn.execute(
                webchat_sessions.update()
                .where(s.id == session_id, s.opening_external_id.is_(None))
                .values(opening_external_id=external_id)
            )
            # The idle time runs from the resident's last message, not from when they
            # opened the page.
            conn.execute(
                webchat_sessions.update().where(s.id == session_id).values(last_seen_at=now)
            )
            return ChatLine(seq, "resident", body, now, client_id=client_id)

    def add_reply(
        self,
        session_id: str,
        *,
        outbox_key: str,
        body: str,
        role: str,
        interaction_id: int | None,
        meta: dict[str, Any],
        now: datetime,
    ) -> ChatLine | None:
        """Record a reply the outbox is delivering (once per outbox key). None when the
        session does not exist."""
        c = webchat_messages.c
        s = webchat_sessions.c
        with self.engine.begin() as conn:
            session = conn.execute(sa.select(s.id, s.reference).where(s.id == session_id)).first()
            if session is None:
                return None
            row = conn.execute(
                sa.select(webchat_messages).where(c.outbox_key == outbox_key)
            ).first()
            if row is not None:
                return _line(row)
            reference = session.reference
            if interaction_id is not None:
                reference = conn.execute(
                    sa.select(t.interactions.c.reference).where(
                        t.interactions.c.id == interaction_id
                    )
                ).scalar_one_or_none()
                conn.execute(
                    webchat_sessions.update()
                    .where(s.id == session_id)
                    .values(interaction_id=interaction_id, reference=reference)
                )
            seq = self._next_seq(conn, session_id)
            conn.execute(
                webchat_messages.insert().values(
                    session_id=session_id,
                    seq=seq,
                    role=role,
                    body=body,
                    outbox_key=outbox_key,
                    meta=meta,
                    reference=reference,
                    created_at=now,
                )
            )
            return ChatLine(seq, role, body, now, reference=reference, meta=meta)

    def lines_after(self, session_id: str, after: int, limit: int = REPLAY_LIMIT) -> list[ChatLine]:
        c = webchat_messages.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(webchat_messages)
                .where(c.session_id == session_id, c.seq > after)
                .order_by(c.seq.desc())
                .limit(limit)
            ).all()
        return [_line(r) for r in reversed(rows)]


def _revoke(conn: sa.Connection, session_id: str) -> None:
    """Replace the session's token hash with one of a token nobody holds."""
    conn.execute(
        webchat_sessions.update()
        .where(webchat_sessions.c.id == session_id)
        .values(token_hash=hash_token("revoked:" + secrets.token_urlsafe(32)))
    )
