"""Quarantine is a waiting room, not a bin (issue 14).

A stored message that could not be handled waits here with a short, classified reason that
never carries its content or the values of a failed statement; an admin can send it through
again (after a fix, or once the database is back) or take it over by hand. A failure that
is only the database being briefly unavailable is not a reason to quarantine at all: the
message stays waiting and is tried again, up to `TRANSIENT_ATTEMPTS` times.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from bot.storage import tables as t
from channels.base import InvalidPayloadError

# How many times a message is tried after a transient database error before it is
# quarantined as "database unavailable" (so a fault that is not transient cannot loop), and
# the pause before each new try: about 20 s in all, what a PostgreSQL restart takes.
TRANSIENT_ATTEMPTS = 8
_PAUSE_MAX = 5.0


def pause_before_retry(attempts: int) -> None:
    """Wait a little before the message is tried again (0.5 s, doubling, at most 5 s): the
    worker's thread has nothing better to do while the database is away."""
    time.sleep(min(0.5 * 2**attempts, _PAUSE_MAX))


# The categories a reason starts with; anything else stored (by older versions) is shown as
# "unclassified" rather than shown, since it may quote the message.
CATEGORIES = (
    "unreadable",
    "database refused a value",
    "database unavailable",
    "took too long",
    "processing error",
)


@dataclass(frozen=True, slots=True)
class Failure:
    reason: str  # classified, short, without content
    transient: bool  # worth trying again as it is


def classify(exc: BaseException) -> Failure:
    """What went wrong, in words an admin can act on, with no message content in them."""
    if isinstance(exc, InvalidPayloadError) and str(exc).startswith("took too long"):
        return Failure(str(exc)[:200], transient=False)  # the email decoder's time limit
    if isinstance(exc, InvalidPayloadError):
        # Our own words (the parser's reasons name sizes and types, never content).
        return Failure(f"unreadable: {str(exc)[:200]}", transient=False)
    if isinstance(exc, TimeoutError):
        return Failure("took too long", transient=False)
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return Failure(f"database unavailable ({type(exc.orig).__name__})", transient=True)
    if isinstance(exc, sa.exc.OperationalError | sa.exc.TimeoutError | sa.exc.InterfaceError):
        # Connection lost, server restarting, locked, serialisation failure: try again.
        orig = getattr(exc, "orig", None) or exc
        return Failure(f"database unavailable ({type(orig).__name__})", transient=True)
    if isinstance(exc, sa.exc.DisconnectionError):
        return Failure("database unavailable (disconnected)", transient=True)
    if isinstance(exc, sa.exc.StatementError):
        # A value the database would not take (a type, a length, a constraint). The message
        # of such an error quotes the statement and, without hide_parameters, its values.
        orig = exc.orig if exc.orig is not None else exc
        return Failure(f"database refused a value ({type(orig).__name__})", transient=False)
    return Failure(f"processing error ({type(exc).__name__})", transient=False)


def shown_reason(stored: str | None) -> str:
    """The part of a stored reason an admin sees: its category and detail when it is one
    of ours, "unclassified" for anything else."""
    if not stored:
        return "unclassified"
    for category in CATEGORIES:
        if stored.startswith(category):
            return stored[:240]
    return "unclassified"


@dataclass(frozen=True, slots=True)
class Waiting:
    id: int
    channel: str
    source: str
    stored_at: datetime
    attempts: int
    reason: str
    size: int


def waiting(conn: sa.Connection, limit: int = 200) -> list[Waiting]:
    """Quarantined messages, newest first, without their content."""
    c = t.inbound_messages.c
    rows = conn.execute(
        sa.select(
            c.id,
            c.channel,
            c.source,
            c.stored_at,
            c.attempts,
            c.reason,
            sa.func.length(c.raw).label("size"),
        )
        .where(c.status == "quarantined")
        .order_by(c.id.desc())
        .limit(limit)
    ).all()
    return [
        Waiting(
            r.id, r.channel, r.source, r.stored_at, r.attempts, shown_reason(r.reason), r.size or 0
        )
        for r in rows
    ]


def retry(conn: sa.Connection, inbound_id: int) -> bool:
    """Send a quarantined message through intake again. False if it is not quarantined."""
    c = t.inbound_messages.c
    done = conn.execute(
        t.inbound_messages.update()
        .where(c.id == inbound_id, c.status == "quarantined")
        .values(status="received", reason=None)
    )
    return done.rowcount == 1


def handle_by_hand(conn: sa.Connection, inbound_id: int, by: str) -> bool:
    """Take a quarantined message out of the waiting room: a member of staff deals with it
    outside Doorstep (the raw message stays stored). False if it is not quarantined."""
    c = t.inbound_messages.c
    done = conn.execute(
        t.inbound_messages.update()
        .where(c.id == inbound_id, c.status == "quarantined")
        .values(status="by_hand", reason=f"handled by hand by {by}"[:300])
    )
    return done.rowcount == 1
