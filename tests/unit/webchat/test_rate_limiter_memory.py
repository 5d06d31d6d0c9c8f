"""The chat rate limiter forgets finished sessions (issue 14's soak: memory stays flat)."""

from __future__ import annotations

from channels.webchat.server import RateLimiter


def test_idle_sessions_are_forgotten_once_a_window() -> None:
    limiter = RateLimiter(5, window=60.0)
    for n in range(3_000):  # a busy hour: 3,000 chats, each one message
        assert limiter.allow(f"session-{n}", now=n * 1.2)
    # Only the sessions of about the last window or two are still held, not 3,000.
    assert len(limiter._seen) < 200
    # A session still in its window keeps its count.
    for _ in range(4):
        assert limiter.allow("session-2999", now=3_600.0)
    assert not limiter.allow("session-2999", now=3_600.5)
