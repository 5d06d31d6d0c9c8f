"""Passwords, signatures and the user rules (no database)."""

from __future__ import annotations

from bot.web.dashboard import auth


def test_password_hash_is_argon2id_and_verifies() -> None:
    hashed = auth.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert auth.verify_password(hashed, "correct horse battery")
    assert not auth.verify_password(hashed, "correct horse battery!")


def test_a_broken_hash_is_a_failed_login_not_a_crash() -> None:
    assert not auth.verify_password("not-a-hash", "anything")


def test_signatures_are_bound_to_purpose_and_value() -> None:
    token = auth.sign("k", "csrf", "session-1")
    assert auth.check("k", "csrf", "session-1", token)
    assert not auth.check("k", "csrf", "session-2", token)  # another session's token
    assert not auth.check("k", "login", "session-1", token)  # another purpose
    assert not auth.check("other", "csrf", "session-1", token)  # another key


def test_role_names_cover_every_role() -> None:
    from bot.storage.tables_staff import ROLES

    assert set(auth.ROLE_NAMES) == set(ROLES)
