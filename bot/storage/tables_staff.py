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
