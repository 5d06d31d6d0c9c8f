"""The retention policy (UK GDPR storage limitation), applied by a daily job.

Three rules, each from `privacy.retention` in settings:
- raw payloads (the provider's whole message, attachments included) are dropped once a
  message has been handled and is older than `raw_payloads_days` (90): its text, sender and
  subject stay on the case. Quarantined or unhandled messages keep theirs (they may still
  need to be read again: nothing a resident sent is lost before it is handled);
- web chat transcripts (the widget's history) older than `chat_transcripts_days` (2 years)
  are deleted; the resident's messages are still on the case as inbound messages;
- closed cases whose last change is older than `closed_interactions_years` (6) are
  anonymised (bot/privacy/anonymise.py).

`plan` counts what a run would do without changing anything (`doorstep retention
--dry-run`); `apply` does it in one transaction and records what it did as an event (the
record has counts only, no personal data).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.privacy.anonymise import anonymise_interactions
from bot.settings import Retention
from bot.storage import tables as t

# Messages whose raw payload is no longer needed: handled one way or another.
_HANDLED = ("processed", "joined", "suppressed", "duplicate")


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    raw_payloads: int
    chat_lines: int
    chat_sessions: int
    closed_interactions: int
    raw_before: datetime
    chats_before: datetime
    closed_before: datetime

    def lines(self) -> list[str]:
        return [
            f"raw payloads older than {self.raw_before:%Y-%m-%d}: {self.raw_payloads}",
            f"chat transcript lines older than {self.chats_before:%Y-%m-%d}: {self.chat_lines}"
            f" (in {self.chat_sessions} chats)",
            f"closed cases last changed before {self.closed_before:%Y-%m-%d}, to anonymise: "
            f"{self.closed_interactions}",
        ]


def _cutoffs(policy: Retention, now: datetime) -> tuple[datetime, datetime, datetime]:
    return (
        now - timedelta(days=policy.raw_payloads_days),
        now - timedelta(days=policy.chat_transcripts_days),
        # Years as 365.25 days: six years means six years, leap days or not.
        now - timedelta(days=round(policy.closed_interactions_years * 365.25)),
    )


def _raw_where(before: datetime) -> sa.ColumnElement[bool]:
    ib = t.inbound_messages.c
    return sa.and_(ib.raw.is_not(None), ib.status.in_(_HANDLED), ib.stored_at < before)


def _closed_ids(conn: sa.Connection, before: datetime) -> list[int]:
    i = t.interactions.c
    return [
        int(x)
        for x in conn.execute(
            sa.select(i.id).where(i.status == "closed", i.updated_at < before).order_by(i.id)
        ).scalars()
    ]


def plan(conn: sa.Connection, policy: Retention, now: datetime) -> RetentionPlan:
    from bot.storage.tables_webchat import webchat_messages

    raw_before, chats_before, closed_before = _cutoffs(policy, now)
    count = sa.func.count()
    raw = conn.execute(
        sa.select(count).select_from(t.inbound_messages).where(_raw_where(raw_before))
    ).scalar_one()
    wm = webchat_messages.c
    chat_lines, chat_sessions = conn.execute(
        sa.select(count, sa.func.count(sa.distinct(wm.session_id))).where(
            wm.created_at < chats_before
        )
    ).one()
    closed = len(_closed_ids(conn, closed_before))
    return RetentionPlan(
        int(raw),
        int(chat_lines),
        int(chat_sessions),
        closed,
        raw_before,
        chats_before,
        closed_before,
    )


def apply(conn: sa.Connection, policy: Retention, now: datetime) -> RetentionPlan:
    """Apply the policy in the caller's transaction; returns what was done."""
    from bot.storage.tables_webchat import webchat_messages

    done = plan(conn, policy, now)
    conn.execute(t.inbound_messages.update().where(_raw_where(done.raw_before)).values(raw=None))
    conn.execute(webchat_messages.delete().where(webchat_messages.c.created_at < done.chats_before))
    anonymise_interactions(conn, _closed_ids(conn, done.closed_before), now)
    record = {k: v for k, v in asdict(done).items() if isinstance(v, int)}
    conn.execute(
        t.events.insert().values(
            interaction_id=None, kind="retention_applied", detail=record, created_at=now
        )
    )
    return done
