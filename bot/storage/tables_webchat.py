"""Web chat tables (channels/webchat): chat sessions and their message history.

A session is one browser's chat. The browser keeps a secret token (only its SHA-256 is
stored, so a leaked row cannot be replayed to read someone's chat: PRIVACY) and the public
session id is what the rest of Doorstep sees as the resident's address (`sender` of inbound
messages, `recipient` of replies).

Every message shown in the chat, the resident's and ours, is a row of `webchat_messages`
with a sequence number per session. The browser remembers the last number it has seen and
the server replays anything after it when the socket comes back, so nothing is lost or shown
twice. The resident's messages are unique on (session, client id) and ours on the outbox
row's idempotency key, so a resend after a dropped connection, or an outbox retry, is
stored once.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.storage.tables import UtcDateTime, metadata

webchat_sessions = sa.Table(
    "webchat_sessions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),  # public: "ws-..."
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    # The conversation the session's messages belong to (the chat's thread id) and the
    # external id of its first message, which later messages name so the pipeline joins
    # them to the same interaction (ACK-2: no second acknowledgement).
    sa.Column("conversation_id", sa.String(40), nullable=False, unique=True),
    sa.Column("opening_external_id", sa.String(200)),
    sa.Column("interaction_id", sa.ForeignKey("interactions.id"), index=True),
    sa.Column("reference", sa.String(40)),
    sa.Column("last_seq", sa.Integer, nullable=False, default=0),
    sa.Column("origin", sa.String(300)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
)

webchat_messages = sa.Table(
    "webchat_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("session_id", sa.ForeignKey("webchat_sessions.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("role", sa.String(20), nullable=False),  # resident, assistant, staff
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("client_id", sa.String(80)),  # the browser's id for a resident's message
    sa.Column("outbox_key", sa.String(300), unique=True),  # the outbox row a reply came from
    sa.Column("meta", sa.JSON),  # quick-reply buttons
    sa.Column("reference", sa.String(40)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("session_id", "seq"),
    sa.UniqueConstraint("session_id", "client_id"),
)
