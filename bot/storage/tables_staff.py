"""Staff-side tables: dashboard users, their sessions, API tokens, the audit log of what staff
looked at and did, and who handled each complaint stage.

Officers' out-of-office (OOO) lives in the shared `officers` table (bot/storage/tables.py);
`actions/officers.py` keeps it in step with configuration.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.storage.tables import UtcDateTime, clocks, metadata

ROLES = ("agent", "team_lead", "complaints_handler", "admin")

staff_users = sa.Table(
    "staff_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),  # stored lower-case
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("role", sa.String(30), nullable=False),
    sa.Column("team", sa.String(60)),
    sa.Column("password_hash", sa.String(300), nullable=False),  # argon2id
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_login_at", UtcDateTime),
    # TOTP second factor (RFC 6238): the base32 secret once enrolment is confirmed, and the
    # last time step accepted, so a code seen over someone's shoulder cannot be used twice.
    sa.Column("totp_secret", sa.String(64)),
    sa.Column("totp_last_step", sa.BigInteger),
    # Set by an admin's reset: the temporary password only lets its owner choose a new one.
    sa.Column("must_change_password", sa.Boolean, nullable=False, default=False),
    sa.Column("password_changed_at", UtcDateTime),
)

# Server-side sessions: the cookie carries a random token; only its SHA-256 is stored, so a
# leaked database row cannot be replayed as a cookie, and signing out really ends a session.
staff_sessions = sa.Table(
    "staff_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("staff_users.id"), nullable=False, index=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False, index=True),
)

# Tokens for the JSON API (`doorstep token add`): each named, with one scope, revocable. Only
# the SHA-256 of the token is kept; the token itself is shown once, when it is made.
API_SCOPES = ("appointments", "assistant", "read")

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("scope", sa.String(20), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_used_at", UtcDateTime),
    sa.Column("revoked_at", UtcDateTime),
)

# Who opened which case and what they did (UK GDPR accountability). No foreign keys: a row
# outlives the case it names (retention may anonymise or erase the case) and the account.
staff_audit = sa.Table(
    "staff_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UtcDateTime, nullable=False, index=True),
    sa.Column("user_id", sa.Integer),
    sa.Column("actor", sa.String(320), nullable=False),  # staff email, or "token:<name>"
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("interaction_id", sa.Integer, index=True),
    sa.Column("detail", sa.JSON),
    sa.Column("client", sa.String(64)),  # client IP address
)

# COMPLAINT: who handled each stage. Stage 2 must go to a different person than stage 1
# (Complaint Handling Code), which this table lets us check and show.
complaint_handlers = sa.Table(
    "complaint_handlers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("interaction_id", sa.ForeignKey("interactions.id"), nullable=False),
    sa.Column("stage", sa.Integer, nullable=False),
    sa.Column("handler", sa.String(320), nullable=False),  # staff email
    sa.Column("assigned_at", UtcDateTime, nullable=False),
    sa.Column("acknowledged_at", UtcDateTime),
    sa.Column("responded_at", UtcDateTime),
    sa.UniqueConstraint("interaction_id", "stage"),
)

# The dashboard queue walks open clocks in deadline order and stops after one page, so it
# needs the open clocks indexed by (due_at, id); the per-interaction "is this its earliest
# open clock" check uses (interaction_id, due_at). Both partial: closed clocks pile up.
sa.Index(
    "ix_clocks_open_due_at_id",
    clocks.c.due_at,
    clocks.c.id,
    postgresql_where=sa.text("is_open"),
    sqlite_where=sa.text("is_open"),
)
sa.Index(
    "ix_clocks_open_interaction_due_at",
    clocks.c.interaction_id,
    clocks.c.due_at,
    postgresql_where=sa.text("is_open"),
    sqlite_where=sa.text("is_open"),
)

# Live chat (bot/service/live.py, docs/live-chat.md). Presence is a heartbeat kept here, not
# in a process's memory, so every instance behind the load balancer sees who is there: a
# member of staff counts as Available while `status` is "available", the dashboard's last
# heartbeat (`seen_at`) is recent and they did something in it lately (`active_at`).
PRESENCE_STATES = ("available", "away")

staff_presence = sa.Table(
    "staff_presence",
    metadata,
    sa.Column("user_id", sa.ForeignKey("staff_users.id"), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("seen_at", UtcDateTime, nullable=False, index=True),
    sa.Column("active_at", UtcDateTime, nullable=False),
    sa.Column("changed_at", UtcDateTime, nullable=False),
)

# One row per "Talk to a person" in the web chat, and what became of it: "waiting" in the
# live queue, "taken" by a member of staff, "timed_out" (nobody free in time: the resident
# was given the phone number and the deadline), "ended", or "phone" (nobody available or
# the office closed when it was asked: the decision is kept for the record). `event_id`
# is the hand-off request it answers, unique so two instances cannot queue it twice.
LIVE_STATES = ("waiting", "taken", "timed_out", "ended", "phone")

live_chats = sa.Table(
    "live_chats",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("interaction_id", sa.ForeignKey("interactions.id"), nullable=False, index=True),
    sa.Column("event_id", sa.Integer, unique=True),
    sa.Column("session_id", sa.String(40), nullable=False),  # the chat (resident's address)
    sa.Column("team", sa.String(60), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("requested_at", UtcDateTime, nullable=False),
    sa.Column("taken_by", sa.String(320)),  # staff email
    sa.Column("taken_name", sa.String(200)),
    sa.Column("taken_at", UtcDateTime),
    sa.Column("ended_at", UtcDateTime),
    sa.Column("ended_reason", sa.String(200)),
    sa.Column("staff_messages", sa.Integer, nullable=False, default=0),
)
sa.Index("ix_live_chats_state_team", live_chats.c.state, live_chats.c.team)
