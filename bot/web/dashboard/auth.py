"""Staff accounts, sessions and CSRF tokens.

Passwords are hashed with argon2id (argon2-cffi). A session is a random token in an
HttpOnly cookie; the database keeps only its SHA-256, so signing out (or an admin
deactivating someone) ends it for good. CSRF tokens are an HMAC of the session token with
the secret key: nothing to store, and a token from one session is useless in another.
Before sign-in, the login form is protected the same way with a short-lived random cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bot.storage.tables_staff import ROLES, staff_sessions, staff_users

MIN_PASSWORD_CHARS = 10
# The session cookie. Its path is "/" so that a signed-in member of staff can read the JSON
# API (/api) too; SameSite=Lax keeps other sites from sending it with their POSTs.
SESSION_COOKIE = "ds_staff"
ROLE_NAMES = {
    "agent": "Agent",
    "team_lead": "Team lead",
    "complaints_handler": "Complaints handler",
    "admin": "Admin",
}

_hasher = PasswordHasher()
# Verifying against this when the address is unknown keeps sign-in time the same for known
# and unknown addresses, so the form does not reveal who has an account.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class UserError(ValueError):
    """A user that cannot be created or changed; the message says why."""


@dataclass(frozen=True, slots=True)
class StaffUser:
    id: int
    email: str
    name: str
    role: str
    team: str | None
    active: bool
    must_change_password: bool = False
    totp_enabled: bool = False

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"the password must be at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > 1000:
        raise UserError("the password must be at most 1000 characters")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _user(row: sa.Row[tuple[object, ...]] | None) -> StaffUser | None:
    if row is None:
        return None
    m = row._mapping
    return StaffUser(
        id=int(str(m["id"])),
        email=str(m["email"]),
        name=str(m["name"]),
        role=str(m["role"]),
        team=None if m["team"] is None else str(m["team"]),
        active=bool(m["active"]),
        must_change_password=bool(m["must_change_password"]),
        totp_enabled=m["totp_secret"] is not None,
    )


_USER_COLUMNS = (
    staff_users.c.id,
    staff_users.c.email,
    staff_users.c.name,
    staff_users.c.role,
    staff_users.c.team,
    staff_users.c.active,
    staff_users.c.must_change_password,
    staff_users.c.totp_secret,
)


def create_user(
    conn: sa.Connection,
    *,
    email: str,
    name: str,
    role: str,
    team: str | None,
    password: str,
    now: datetime,
) -> StaffUser:
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise UserError(f"not an email address: {email!r}")
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")
    if not name.strip():
        raise UserError("a name is required")
    if role == "agent" and not team:
        raise UserError("an agent needs a team (--team)")
    check_password_rules(password)
    exists = conn.execute(
        sa.select(staff_users.c.id).where(staff_users.c.email == email)
    ).scalar_one_or_none()
    if exists is not None:
        raise UserError(f"a user with the address {email} already exists")
    new_id = conn.execute(
        staff_users.insert().values(
            email=email,
            name=name.strip(),
            role=role,
            team=team or None,
            password_hash=hash_password(password),
            active=True,
            created_at=now,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    user = get_user(conn, int(new_id))
    assert user is not None
    return user


def get_user(conn: sa.Connection, user_id: int) -> StaffUser | None:
    return _user(conn.execute(sa.select(*_USER_COLUMNS).where(staff_users.c.id == user_id)).first())


def list_users(conn: sa.Connection) -> list[StaffUser]:
    rows = conn.execute(sa.select(*_USER_COLUMNS).order_by(staff_users.c.name)).all()
    return [u for u in (_user(r) for r in rows) if u is not None]


def set_active(conn: sa.Connection, user_id: int, active: bool) -> None:
    conn.execute(staff_users.update().where(staff_users.c.id == user_id).values(active=active))
    if not active:
        conn.execute(staff_sessions.delete().where(staff_sessions.c.user_id == user_id))


def authenticate(conn: sa.Connection, email: str, password: str, now: datetime) -> StaffUser | None:
    row = conn.execute(
        sa.select(*_USER_COLUMNS, staff_users.c.password_hash).where(
            staff_users.c.email == email.strip().lower()
        )
    ).first()
    if row is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(row.password_hash, password) or not row.active:
        return None
    values: dict[str, object] = {"last_login_at": now}
    if _hasher.check_needs_rehash(row.password_hash):
        values["password_hash"] = hash_password(password)
    conn.execute(staff_users.update().where(staff_users.c.id == row.id).values(values))
    return _user(row)


def change_password(
    conn: sa.Connection,
    user_id: int,
    *,
    current: str,
    new: str,
    now: datetime,
    keep_session: str | None = None,
) -> None:
    """The user's own change: needs the current password. Every other session of theirs
    ends (someone who knew the old password is signed out everywhere)."""
    row = conn.execute(
        sa.select(staff_users.c.password_hash).where(staff_users.c.id == user_id)
    ).first()
    if row is None or not verify_password(row.password_hash, current):
        raise UserError("The current password is not right.")
    check_password_rules(new)
    if new == current:
        raise UserError("Choose a password different from the current one.")
    conn.execute(
        staff_users.update()
        .where(staff_users.c.id == user_id)
        .values(
            password_hash=hash_password(new), must_change_password=False, password_changed_at=now
        )
    )
    others = staff_sessions.delete().where(staff_sessions.c.user_id == user_id)
    if keep_session is not None:
        others = others.where(staff_sessions.c.token_hash != _digest(keep_session))
    conn.execute(others)


def reset_password(conn: sa.Connection, user_id: int, *, now: datetime) -> str:
    """An admin's reset: a temporary password (returned, shown once to the admin) that only
    lets its owner choose a new one; their sessions end and their second factor is cleared,
    so they set it up again (a reset is what someone who lost their phone asks for)."""
    temporary = secrets.token_urlsafe(12)
    done = conn.execute(
        staff_users.update()
        .where(staff_users.c.id == user_id)
        .values(
            password_hash=hash_password(temporary),
            must_change_password=True,
            password_changed_at=now,
            totp_secret=None,
            totp_last_step=None,
        )
    )
    if not done.rowcount:
        raise UserError("No such user.")
    conn.execute(staff_sessions.delete().where(staff_sessions.c.user_id == user_id))
    return temporary


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(conn: sa.Connection, user_id: int, *, hours: int, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    conn.execute(
        staff_sessions.insert().values(
            token_hash=_digest(token),
            user_id=user_id,
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    # Housekeeping: expired sessions are useless; drop them while we are here.
    conn.execute(staff_sessions.delete().where(staff_sessions.c.expires_at < now))
    return token


def session_user(conn: sa.Connection, token: str, now: datetime) -> StaffUser | None:
    s = staff_sessions.c
    row = conn.execute(
        sa.select(*_USER_COLUMNS)
        .join(staff_sessions, s.user_id == staff_users.c.id)
        .where(s.token_hash == _digest(token), s.expires_at > now, staff_users.c.active.is_(True))
    ).first()
    return _user(row)


def end_session(conn: sa.Connection, token: str) -> None:
    conn.execute(staff_sessions.delete().where(staff_sessions.c.token_hash == _digest(token)))


def sign(secret: str, purpose: str, value: str) -> str:
    """An HMAC-SHA256 of `value` for one purpose (csrf, login, flash)."""
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def check(secret: str, purpose: str, value: str, signature: str) -> bool:
    # As bytes: compare_digest refuses non-ASCII str, and the signature is the client's.
    expected = sign(secret, purpose, value).encode()
    return hmac.compare_digest(expected, signature.encode("utf-8", "surrogatepass"))
