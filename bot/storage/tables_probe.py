"""Mystery-shopper and staff-alert tables (bot/service/probe.py, bot/service/alerts.py).

MONITOR: `probes` holds every probe run and what it found; `probe_cases` names the cases a
probe opened, so they are kept out of the queue and out of residents' figures. Staff alerts
are claimed by a unique row (one per clock and state, one digest per team and day): the claim
and the email in the outbox commit together, so a restart or a second server never sends
the same alert twice.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.storage.tables import UtcDateTime, metadata

probes = sa.Table(
    "probes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("nonce", sa.String(40), nullable=False, unique=True),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("answered_at", UtcDateTime),
    sa.Column("seconds", sa.Float),  # time from sending to the acknowledgement
    # running, passed, slow (answered, checks passed, later than probe.slow_seconds), failed
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text),  # why it failed or was slow, in staff's words
    sa.Column("reference", sa.String(40)),
    sa.Column("interaction_id", sa.ForeignKey("interactions.id")),
    sa.Index("ix_probes_channel_started_at", "channel", "started_at"),
)

probe_cases = sa.Table(
    "probe_cases",
    metadata,
    sa.Column("interaction_id", sa.ForeignKey("interactions.id"), primary_key=True),
    sa.Column("nonce", sa.String(40), nullable=False, unique=True),
    sa.Column("channel", sa.String(20), nullable=False),
    sa.Column("marked_at", UtcDateTime, nullable=False),
)

staff_alerts = sa.Table(
    "staff_alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("clock_id", sa.ForeignKey("clocks.id"), nullable=False),
    sa.Column("state", sa.String(20), nullable=False),  # due_soon, breached
    sa.Column("interaction_id", sa.ForeignKey("interactions.id"), nullable=False),
    sa.Column("team", sa.String(60), nullable=False),
    sa.Column("policy", sa.String(60), nullable=False),
    sa.Column("due_at", UtcDateTime, nullable=False),
    # The outbox row that tells the team (None: the team has no address, shown as failed).
    sa.Column("outbox_key", sa.String(300)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("clock_id", "state"),
    sa.Index("ix_staff_alerts_created_at", "created_at"),
)

staff_digests = sa.Table(
    "staff_digests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("team", sa.String(60), nullable=False),
    sa.Column("day", sa.Date, nullable=False),  # the local working day it was for
    sa.Column("due_soon", sa.Integer, nullable=False),
    sa.Column("breached", sa.Integer, nullable=False),
    sa.Column("outbox_key", sa.String(300)),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.UniqueConstraint("team", "day"),
)
