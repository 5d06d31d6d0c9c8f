"""The intake's pure parts; the protocol itself is tested against Dovecot (tests/e2e)."""

from __future__ import annotations

import pytest

from channels.email.imap import ImapIntake, InMemoryCursorStore, MailboxSettings, _batches


def settings(**overrides: object) -> MailboxSettings:
    fields: dict[str, object] = {
        "name": "repairs",
        "host": "imap.example.org",
        "port": 993,
        "username": "repairs@landlord.example",
        "password": "secret",
    }
    fields.update(overrides)
    return MailboxSettings(**fields)  # type: ignore[arg-type]


def test_in_memory_cursor_store() -> None:
    store = InMemoryCursorStore()
    assert store.load("repairs") == (None, 0)
    store.save("repairs", 7, 42)
    assert store.load("repairs") == (7, 42)


def test_settings_validation() -> None:
    with pytest.raises(ValueError, match="idle_timeout"):
        settings(idle_timeout=30 * 60)
    with pytest.raises(ValueError, match="security"):
        settings(security="plain")
    assert settings().read_only
    assert not settings(mark_seen=True).read_only
    assert not settings(move_to="Done").read_only
    assert "secret" not in repr(settings())


def test_mailbox_names_must_be_unique() -> None:
    async def on_message(name: str, validity: int, uid: int, raw: bytes) -> None:
        pass

    with pytest.raises(ValueError, match="unique"):
        ImapIntake([settings(), settings()], InMemoryCursorStore(), on_message)


def test_batches_respect_count_bytes_and_oversize() -> None:
    uids = [1, 2, 3, 4, 5, 6]
    sizes = {1: 10, 2: 10, 3: 10, 4: 1000, 5: 60, 6: 10}
    assert list(_batches(uids, sizes, count=2, max_bytes=100, oversize=500)) == [
        [1, 2],
        [3],
        [4],
        [5, 6],
    ]
    assert list(_batches([1, 2, 3], {1: 60, 2: 60, 3: 60}, 10, 100, 500)) == [[1], [2], [3]]
