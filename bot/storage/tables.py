"""The database schema (SQLAlchemy Core). Alembic migrations are generated from this metadata.

Times are stored timezone-aware (UTC on PostgreSQL; SQLite keeps the ISO text we give it,
always UTC) so that "what is due now" is a plain indexed comparison.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware one")
        value = value.astimezone(UTC)
        # SQLite compares text: store a fixed-width naive UTC form so ordering is correct.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _now() -> datetime:
    return datetime.now(UTC)


contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200)),
    sa.Column("needs", sa.JSON, nullable=False, default=list),  # ACCESS: recorded needs
    sa.Column("created_at", UtcDateTime, nullable=False, default=_now),
    # ACCESS / Welsh Language Standards: the language we write to them in (ISO 639-1), and
    # who said so: "detected" from their words, "resident" when they chose, "staff".
    sa.Column("language", sa.String(8)),
    sa.Column("language_source", sa.String(12)),
)

# A resident is known across channels by each address they use (email, phone, social id).
contact_identities = sa.Table(
    "contact_identities",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("contact_id", sa.ForeignKey("contacts.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("value", sa.String(320), nullable=False),
    sa.UniqueConstraint("kind", "value"),
)

interactions = sa.Table(
    "interactions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reference", sa.String(40), unique=True),
    sa.Column("contact_id", sa.ForeignKey("contacts.id"), nullable=False, index=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("topic", sa.String(20), nullable=False),
    sa.Column("urgency", sa.String(20), nullable=False),
    sa.Column("intent", sa.String(40)),
    sa.Column("team", sa.String(60), nullable=False, index=True),
    sa.Column("owner", sa.String(200)),
    sa.Column("status", sa.String(20), nullable=False, default="open"),
    sa.Column("subject", sa.String(500)),
    sa.Column("address", sa.String(320)),  # where replies go on that channel
    sa.Column("classification", sa.JSON),
    sa.Column("complaint_stage", sa.Integer),
    sa.Column("outcome", sa.Text),
    sa.Column("created_at", UtcDateTime, nullable=False, default=_now),
    sa.Column("updated_at", UtcDateTime, nullable=False, default=_now, onupdate=_now),
    sa.Index("ix_interactions_status_team", "status", "team"),
    sa.Index("ix_interactions_urgency_status", "urgency", "status"),  # emergencies on top
    sa.Index("ix_interactions_created_at", "created_at"),  # volume by channel and hour
)

# Every inbound message is stored here before anything else happens, raw bytes included.
inbound_messages = sa.Table(
    "inbound_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(20), nullable=False),
    # Where it came from and its key there (e.g. "imap:repairs", "1712345:42"): redelivery
    # of the same source key is a no-op.
    sa.Column("source", sa.String(120), nullable=False),
    sa.Column("source_key", sa.String(200), nullable=False),
    sa.Column("raw", sa.LargeBinary),
    sa.Column("stored_at", UtcDateTime, nullable=False, default=_now),
    sa.Column("status", sa.String(20), nullable=False, default="received", index=True),
    sa.Column("reason", sa.Text),  # why quarantined or suppressed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("external_id", sa.String(500)),
    sa.Column("sender", sa.String(320)),
    sa.Column("recipient", sa.String(320)),
    sa.Column("subject", sa.String(1000)),
    sa.Column("body", sa.Text),
    sa.Column("received_at", UtcDateTime),
    sa.Column("thread_refs", sa.JSON),
    sa.Column("meta", sa.JSON),
    sa.Column("interaction_id", sa.ForeignKey("interactions.id"), index=True),
    sa.UniqueConstraint("source", "source_key"),
    sa.Index("ix_inbound_messages_channel_external_id", "channel", "external_id"),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("idempotency_key", sa.String(300), nullable=False, unique=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("auto", sa.Boolean, nullable=False, default=True),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("sender", sa.String(320)),
    sa.Column("subject", sa.String(1000)),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("html", sa.Text),
    sa.Column("message_id", sa.String(300)),  # fixed at enqueue so a resend threads the same
    sa.Column("in_reply_to", sa.String(500)),
    sa.Column("references", sa.JSON),
    sa.Column("meta", sa.JSON),
    sa.Column("interaction_id", sa.ForeignKey("interactions.id"), index=True),
    sa.Column("status", sa.String(20), nullable=False, default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("next_attempt_at", UtcDateTime, nullable=False, default=_now),
    sa.Column("locked_until", UtcDateTime),
    sa.Column("locked_by", sa.String(100)),
    sa.Column("last_error", sa.Text),
    sa.Column("provider_id", sa.String(300)),
    sa.Column("provider_status", sa.String(40)),
    sa.Column("created_at", UtcDateTime, nullable=False, default=_now),
    sa.Column("sent_at", UtcDateTime),
    sa.Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    sa.Index("ix_outbox_recipient_created_at", "recipient", "created_at"),
)

# SLA clocks: one row per interaction and promise. "Due soon or breached now" is one indexed
# range query on warn_at over the open clocks (the partial index keeps it small).
clocks = sa.Table(
    "clocks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("interaction_id", sa.ForeignKey("interactions.id"), nullable=False, index=True),
    sa.Column("policy", sa.String(60), nullable=False),
    sa.Column("promise", sa.String(40), nullable=False),
    sa.Column("channel", sa.String(20)),
    sa.Column("topic", sa.String(20)),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("due_at", UtcDateTime, nullable=False),
    sa.Column("warn_at", UtcDateTime, nullable=False),
    sa.Column("paused_at", UtcDateTime),
    sa.Column("paused_seconds", sa.Float, nullable=False, default=0.0),
    sa.Column("extended_days", sa.Integer, nullable=False, default=0),
    sa.Column("extension_reason", sa.Text),
    sa.Column("stopped_at", UtcDateTime),
    sa.Column("outcome", sa.String(20)),  # met, breached, not_met, withdrawn, superseded
    sa.Column("outcome_reason", sa.Text),
    sa.Column("is_open", sa.Boolean, nullable=False, default=True),
    # The interaction's team, and whether it is a mystery-shopper probe (named in
    # `probe_cases`), copied onto the clock by database triggers (migration 0001): on insert,
    # when the interaction is transferred, and when a case is named a probe. The performance
    # page (MONITOR) then reads one covering index, with no join to interactions and no
    # NOT IN over probe_cases; triggers keep them right whatever path writes the rows.
    sa.Column("team", sa.String(60)),
    sa.Column("probe", sa.Boolean, nullable=False, default=False),
    # When and how the clock counts in published figures (sla.reports.decided_in), kept by
    # the database from the columns above so the performance page reads an index instead
    # of working out a CASE for a million rows. An open clock counts as missed at its due
    # time once that has passed (unless it was paused before it): the query adds that test.
    sa.Column(
        "settled_at",
        UtcDateTime,
        sa.Computed(
            "CASE WHEN stopped_at IS NULL THEN due_at"
            " WHEN outcome = 'not_met' AND due_at < stopped_at THEN due_at"
            " WHEN outcome IN ('met', 'not_met', 'withdrawn', 'superseded') THEN stopped_at"
            " ELSE due_at END",
            persisted=True,
        ),
    ),
    sa.Column(
        "verdict",
        sa.String(10),
        sa.Computed(
            "CASE WHEN stopped_at IS NOT NULL AND outcome = 'met' THEN 'met'"
            " WHEN stopped_at IS NOT NULL AND outcome IN ('withdrawn', 'superseded')"
            " THEN 'set_aside' ELSE 'missed' END",
            persisted=True,
        ),
    ),
    sa.Index(
        "ix_clocks_open_warn_at",
        "warn_at",
        postgresql_where=sa.text("is_open"),
        sqlite_where=sa.text("is_open"),
    ),
    sa.Index("ix_clocks_due_at", "due_at"),
    sa.Index("ix_clocks_policy_started_at", "policy", "started_at"),
    # On PostgreSQL it covers every column the performance page reads, so a period is an
    # index-only range. SQLite never treats an index as covering on a table with generated
    # columns, so there it stays narrow rather than cost every clock write for nothing.
    sa.Index(
        "ix_clocks_settled_at",
        "settled_at",
        "policy",
        "verdict",
        postgresql_include=[
            "probe",
            "team",
            "channel",
            "topic",
            "promise",
            "started_at",
            "stopped_at",
            "outcome",
            "due_at",
            "paused_at",
        ],
    ),
)

# Automatic replies we decided not to send, with the reason (loop protection, caps, holds).
suppressions = sa.Table(
    "suppressions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("inbound_id", sa.ForeignKey("inbound_messages.id"), index=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("address", sa.String(320)),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False, default=_now),
)

# Addresses that must get no automatic mail until a time (bounced, opted out).
address_holds = sa.Table(
    "address_holds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("address", sa.String(320), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("until", UtcDateTime),  # None: until lifted (SMS opt-out)
    sa.Column("created_at", UtcDateTime, nullable=False, default=_now),
    sa.UniqueConstraint("channel", "address"),
)

mail_cursors = sa.Table(
    "mail_cursors",
    metadata,
    sa.Column("mailbox", sa.String(120), primary_key=True),
    sa.Column("uidvalidity", sa.BigInteger, nullable=False),
    sa.Column("last_uid", sa.BigInteger, nullable=False),
)

officers = sa.Table(
    "officers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("team", sa.String(60), nullable=False),
    sa.Column("on_leave_until", sa.Date),
    sa.Column("cover", sa.String(320)),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("interaction_id", sa.ForeignKey("interactions.id"), index=True),
    sa.Column("kind", sa.String(60), nullable=False),
    sa.Column("detail", sa.JSON),
    sa.Column("created_at", UtcDateTime, nullable=False, default=_now),
)


def _load_feature_tables() -> None:
    """Feature areas keep their tables in modules of their own (`tables_<area>.py`) on the
    same metadata, so that Alembic sees one schema."""
    import importlib

    for area in ("sms", "staff", "webchat", "probe"):
        try:
            importlib.import_module(f"bot.storage.tables_{area}")
        except ModuleNotFoundError as exc:
            if exc.name != f"bot.storage.tables_{area}":
                raise


_load_feature_tables()


def clock_is_open(table: str = "clocks") -> sa.ColumnElement[Any]:
    """`<table>.is_open` written bare, untyped. SQLite and PostgreSQL use the partial index
    `... WHERE is_open` only when the query repeats that predicate verbatim; SQLAlchemy's
    renderings of a Boolean column (`is_open IS 1`, `is_open = 1`) do not match it."""
    return sa.literal_column(f"{table}.is_open")
