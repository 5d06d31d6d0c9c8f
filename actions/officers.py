"""Officers and their out-of-office (OOO): the `officers` table is the live list.

Configuration names the officers; the dashboard edits their leave (return date, cover). At
start `sync_officers` adds configured officers the table does not know and keeps their name
and team in step, but never overwrites leave edited in the dashboard. The email
auto-replies read `effective_officers`, so an edit takes effect on the next message.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import sqlalchemy as sa

from bot.settings import Officer
from bot.storage import tables as t


class OfficerError(ValueError):
    """An out-of-office edit that cannot be saved (unknown officer, return date in the past)."""


def sync_officers(conn: sa.Connection, configured: Sequence[Officer]) -> int:
    """Insert configured officers missing from the table; returns how many were added."""
    c = t.officers.c
    known = {
        str(row.email).lower(): row
        for row in conn.execute(sa.select(c.id, c.email, c.name, c.team)).all()
    }
    added = 0
    for officer in configured:
        email = officer.email.strip().lower()
        row = known.get(email)
        if row is None:
            conn.execute(
                t.officers.insert().values(
                    name=officer.name,
                    email=email,
                    team=officer.team,
                    on_leave_until=officer.on_leave_until,
                    cover=officer.cover,
                )
            )
            added += 1
        elif (row.name, row.team) != (officer.name, officer.team):
            conn.execute(
                t.officers.update()
                .where(c.id == row.id)
                .values(name=officer.name, team=officer.team)
            )
    return added


def effective_officers(conn: sa.Connection) -> list[Officer]:
    """Every officer with the leave currently recorded (OOO)."""
    c = t.officers.c
    rows = conn.execute(
        sa.select(c.name, c.email, c.team, c.on_leave_until, c.cover).order_by(c.name)
    ).all()
    return [
        Officer(
            name=r.name,
            email=r.email,
            team=r.team,
            on_leave_until=r.on_leave_until,
            cover=r.cover,
        )
        for r in rows
    ]


def set_leave(
    conn: sa.Connection,
    email: str,
    *,
    until: date | None,
    cover: str | None,
    today: date,
) -> Officer:
    """Record (or clear, with until=None) an officer's leave and who covers meanwhile."""
    email = email.strip().lower()
    c = t.officers.c
    if until is not None and until <= today:
        raise OfficerError("The return date must be after today.")
    cover = (cover or "").strip() or None
    if cover is not None and cover.lower() == email:
        raise OfficerError("An officer cannot cover for themselves.")
    updated = conn.execute(
        t.officers.update()
        .where(sa.func.lower(c.email) == email)
        .values(on_leave_until=until, cover=cover)
    )
    if updated.rowcount == 0:
        raise OfficerError(f"No officer with the address {email}.")
    for officer in effective_officers(conn):
        if officer.email.lower() == email:
            return officer
    raise OfficerError(f"No officer with the address {email}.")  # pragma: no cover
