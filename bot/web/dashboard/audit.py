"""The audit log: who opened which case, and what staff (and API tokens) did.

UK GDPR asks a landlord to show who has looked at a resident's data; a resident who asks
"who read my complaint?" gets an answer from here. Rows are only ever added. Opening a case
is written once per person, case and ten minutes (the live updates reload the page's
fragment every few seconds, and each reload is not a new look).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.storage.tables_staff import staff_audit

VIEW_DEBOUNCE = timedelta(minutes=10)

# What each action is called on the admin's page.
ACTION_NAMES = {
    "viewed": "Opened the case",
    "view_refused": "Tried to open a case outside their queues",
    "totp_disabled": "Turned off two-step sign-in",
    "replied": "Replied",
    "paused": "Paused clocks",
    "resumed": "Resumed clocks",
    "closed": "Closed",
    "reopened": "Reopened",
    "taken": "Took it",
    "transferred": "Passed it on",
    "complaint_marked": "Marked as a complaint",
    "complaint_acknowledged": "Acknowledged the complaint",
    "complaint_extended": "Extended the complaint",
    "complaint_escalated": "Escalated the complaint",
    "complaint_answered": "Answered the complaint",
    "language_changed": "Changed the resident's language",
    "api_read": "Read through the API",
    "exported": "Exported",
    "signed_in": "Signed in",
    "sign_in_failed": "Sign-in refused",
    "signed_out": "Signed out",
    "password_changed": "Changed their password",
    "password_reset": "Reset a password",
    "totp_enrolled": "Set up two-step sign-in",
    "user_added": "Added a user",
    "user_switched": "Switched a user on or off",
    "officer_leave": "Changed out-of-office",
    "audit_viewed": "Read the audit log",
}


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    interaction_id: int | None
    detail: dict[str, Any]
    client: str | None

    @property
    def action_name(self) -> str:
        return ACTION_NAMES.get(self.action, self.action.replace("_", " ").capitalize())


def record(
    conn: sa.Connection,
    *,
    actor: str,
    action: str,
    now: datetime,
    user_id: int | None = None,
    interaction_id: int | None = None,
    detail: dict[str, Any] | None = None,
    client: str | None = None,
) -> None:
    if action == "viewed" and interaction_id is not None:
        a = staff_audit.c
        recent = conn.execute(
            sa.select(a.id)
            .where(
                a.actor == actor,
                a.action == "viewed",
                a.interaction_id == interaction_id,
                a.at > now - VIEW_DEBOUNCE,
            )
            .limit(1)
        ).first()
        if recent is not None:
            return
    conn.execute(
        staff_audit.insert().values(
            at=now,
            user_id=user_id,
            actor=actor[:320],
            action=action,
            interaction_id=interaction_id,
            detail=detail or {},
            client=(client or None) and client[:64],
        )
    )


def entries(
    conn: sa.Connection,
    *,
    actor: str | None = None,
    interaction_id: int | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first; `before` is the id to page from."""
    a = staff_audit.c
    query = sa.select(staff_audit).order_by(a.id.desc()).limit(limit)
    if actor:
        query = query.where(a.actor == actor.strip().lower())
    if interaction_id is not None:
        query = query.where(a.interaction_id == interaction_id)
    if before is not None:
        query = query.where(a.id < before)
    return [
        AuditEntry(
            id=int(r.id),
            at=r.at,
            actor=str(r.actor),
            action=str(r.action),
            interaction_id=r.interaction_id,
            detail=dict(r.detail or {}),
            client=r.client,
        )
        for r in conn.execute(query).all()
    ]
