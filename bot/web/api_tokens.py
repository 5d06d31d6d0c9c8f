"""API tokens: named, one scope each, revocable, stored as a SHA-256 only.

A token is 32 random bytes (URL-safe base64) with a `ds_` prefix, so a leaked one is easy to
recognise in a log or a repository scan. The database keeps its SHA-256: a stolen backup
gives no working token. SHA-256 rather than argon2 because the token is random (nothing to
guess) and is checked on every API request.

Scopes: `appointments` (the repairs system, /api/appointments), `assistant` (the Rasa
actions, /api/assistant) and `read` (the status, clock and interaction reads).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.storage.tables_staff import API_SCOPES, api_tokens

TOKEN_PREFIX = "ds_"
MAX_NAME_CHARS = 80
# last_used_at is a hint for admins ("is this token still in use?"), not a log: writing it
# on every request would turn each API read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=10)


class TokenError(ValueError):
    """A token that cannot be made or revoked; the message says why."""


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    name: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _token(row: sa.Row[tuple[object, ...]]) -> ApiToken:
    m = row._mapping
    return ApiToken(
        id=int(str(m["id"])),
        name=str(m["name"]),
        scope=str(m["scope"]),
        created_at=m["created_at"],
        last_used_at=m["last_used_at"],
        revoked_at=m["revoked_at"],
    )


_COLUMNS = (
    api_tokens.c.id,
    api_tokens.c.name,
    api_tokens.c.scope,
    api_tokens.c.created_at,
    api_tokens.c.last_used_at,
    api_tokens.c.revoked_at,
)


def add_token(
    conn: sa.Connection, *, name: str, scope: str, now: datetime, replace: bool = False
) -> tuple[ApiToken, str]:
    """Make a token; returns it and its secret (shown once, never stored). With `replace`,
    live tokens of the same name are revoked first (a script that rotates its own token)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME_CHARS or any(ch.isspace() for ch in name):
        raise TokenError(f"a token name is 1 to {MAX_NAME_CHARS} characters without spaces")
    if scope not in API_SCOPES:
        raise TokenError(f"unknown scope {scope!r}; scopes are {', '.join(API_SCOPES)}")
    live = api_tokens.c.revoked_at.is_(None)
    if replace:
        conn.execute(
            api_tokens.update().where(api_tokens.c.name == name, live).values(revoked_at=now)
        )
    elif conn.execute(sa.select(api_tokens.c.id).where(api_tokens.c.name == name, live)).first():
        raise TokenError(f"a live token named {name!r} exists: revoke it first, or --replace")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    new_id = conn.execute(
        api_tokens.insert().values(
            name=name, scope=scope, token_hash=digest(secret), created_at=now
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    row = conn.execute(sa.select(*_COLUMNS).where(api_tokens.c.id == new_id)).one()
    return _token(row), secret


def list_tokens(conn: sa.Connection, *, include_revoked: bool = False) -> list[ApiToken]:
    query = sa.select(*_COLUMNS).order_by(api_tokens.c.name, api_tokens.c.id)
    if not include_revoked:
        query = query.where(api_tokens.c.revoked_at.is_(None))
    return [_token(r) for r in conn.execute(query).all()]


def revoke_token(conn: sa.Connection, name: str, *, now: datetime) -> int:
    """Revoke every live token with this name; returns how many."""
    result = conn.execute(
        api_tokens.update()
        .where(api_tokens.c.name == name.strip(), api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    if not result.rowcount:
        raise TokenError(f"no live token named {name!r} (doorstep token list)")
    return int(result.rowcount)


def verify_token(conn: sa.Connection, secret: str, *, now: datetime) -> ApiToken | None:
    """The live token this secret belongs to, or None. The lookup is by hash (an indexed
    equality), so its time does not depend on how much of a guess was right."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    row = conn.execute(
        sa.select(*_COLUMNS).where(
            api_tokens.c.token_hash == digest(secret), api_tokens.c.revoked_at.is_(None)
        )
    ).first()
    if row is None:
        return None
    return _token(row)


def note_used(conn: sa.Connection, token: ApiToken, *, now: datetime) -> None:
    """Record when a token was last used (to the resolution `LAST_USED_RESOLUTION`)."""
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        conn.execute(
            api_tokens.update().where(api_tokens.c.id == token.id).values(last_used_at=now)
        )
