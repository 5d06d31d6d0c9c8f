"""TOTP second factor (RFC 6238, 30-second steps, 6 digits) with pyotp.

Enrolment shows the secret once, as a QR code and as text; it is stored only when the person
proves their app has it (a right code). A code is accepted one step early or late (phone
clocks drift) and only once: the last step used is stored, so a code read over someone's
shoulder cannot be replayed within its minute.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
import segno
import sqlalchemy as sa

from bot.storage.tables_staff import staff_users

STEP_SECONDS = 30
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, *, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """An SVG QR code as a data: URI (the staff CSP allows data: images, no extra route)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=2))


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = "".join(code.split())
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def verify(conn: sa.Connection, user_id: int, code: str, now: datetime) -> bool:
    u = staff_users.c
    row = conn.execute(sa.select(u.totp_secret, u.totp_last_step).where(u.id == user_id)).first()
    if row is None or row.totp_secret is None:
        return False
    step = _matching_step(row.totp_secret, code, now)
    if step is None or (row.totp_last_step is not None and step <= row.totp_last_step):
        return False
    conn.execute(staff_users.update().where(u.id == user_id).values(totp_last_step=step))
    return True


def enrol(conn: sa.Connection, user_id: int, secret: str, code: str, now: datetime) -> bool:
    """Store the secret if `code` is right for it."""
    step = _matching_step(secret, code, now)
    if step is None:
        return False
    conn.execute(
        staff_users.update()
        .where(staff_users.c.id == user_id)
        .values(totp_secret=secret, totp_last_step=step)
    )
    return True


def disable(conn: sa.Connection, user_id: int) -> None:
    conn.execute(
        staff_users.update()
        .where(staff_users.c.id == user_id)
        .values(totp_secret=None, totp_last_step=None)
    )
