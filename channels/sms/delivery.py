"""After a text fails: honour an opt-out Twilio reported, and fall back to email.

A text fails either when Twilio refuses it (the outbox marks the row failed) or later, when
the status callback says failed or undelivered. Each failure is followed up once
(`sms_failures`): error 21610 puts the number on hold as an opt-out, and when the resident
has an email address (a contact identity of kind "email") the same words go by email, so a
promise such as an appointment text (APPT) or an acknowledgement (ACK-2) is still kept.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa

from bot.domain.model import Channel, OutboundMessage
from bot.settings import Settings
from bot.storage import tables as t
from bot.storage.repository import UnitOfWork, idempotency_key
from bot.storage.tables_sms import sms_failures
from channels.sms.optout import opt_out
from channels.sms.phone import redact
from channels.sms.sender import OPTED_OUT

log = logging.getLogger(__name__)


def email_for_phone(conn: sa.Connection, phone: str) -> str | None:
    """The resident's email address, found through the contact that owns this number."""
    ci = t.contact_identities.c
    owner = sa.select(ci.contact_id).where(ci.kind == "phone", ci.value == phone).scalar_subquery()
    found = conn.execute(
        sa.select(ci.value).where(ci.kind == "email", ci.contact_id == owner).limit(1)
    ).scalar_one_or_none()
    return None if found is None else str(found)


def _failed_texts(conn: sa.Connection, limit: int) -> list[sa.Row[tuple[object, ...]]]:
    o = t.outbox.c
    handled = sa.select(sms_failures.c.outbox_id)
    return list(
        conn.execute(
            sa.select(t.outbox)
            .where(
                o.channel == Channel.SMS.value,
                sa.or_(o.status == "failed", o.provider_status.in_(("failed", "undelivered"))),
                o.id.not_in(handled),
            )
            .order_by(o.id)
            .limit(limit)
        ).all()
    )


def follow_up_failures(
    engine: sa.Engine, settings: Settings, now: datetime, limit: int = 100
) -> int:
    """Handle each failed text once. Returns how many were followed up."""
    with engine.connect() as conn:
        rows = _failed_texts(conn, limit)
    done = 0
    for row in rows:
        with UnitOfWork(engine, lambda: now) as uow:
            exists = uow.conn.execute(
                sa.select(sms_failures.c.outbox_id).where(sms_failures.c.outbox_id == row.id)
            ).first()
            if exists is not None:
                continue
            error = row.last_error or row.provider_status or "failed"
            actions: list[str] = []
            if str(OPTED_OUT) in error:
                opt_out(uow, row.recipient, f"error {OPTED_OUT}")
                actions.append("held")
            email = email_for_phone(uow.conn, row.recipient)
            if settings.sms.fallback_to_email and email:
                meta = dict(row.meta or {})
                uow.enqueue(
                    OutboundMessage(
                        channel=Channel.EMAIL,
                        recipient=email,
                        body=row.body,
                        subject=meta.get("subject")
                        or f"A message from {settings.organisation.name}",
                        idempotency_key=idempotency_key("sms-fallback", row.id),
                        sender=settings.email.from_address,
                        interaction_id=row.interaction_id,
                        kind=f"{row.kind}-email"[:40],
                        auto=row.auto,
                        meta={k: v for k, v in meta.items() if k in ("clock", "job_ref")}
                        | {"fallback_for": str(row.id)},
                    )
                )
                actions.append("emailed")
            elif not actions:
                actions.append("no_email")
            uow.conn.execute(
                sms_failures.insert().values(
                    outbox_id=row.id,
                    error=error[:2000],
                    action="+".join(actions),
                    handled_at=now,
                )
            )
            if row.interaction_id is not None:
                uow.add_event(
                    row.interaction_id,
                    "sms_failed",
                    {"outbox_id": row.id, "error": error[:500], "action": "+".join(actions)},
                )
            uow.commit()
            done += 1
            log.info("text %s to %s failed: %s", row.id, redact(row.recipient), "+".join(actions))
    return done
