"""Notice board: "session S has something new". Sockets wait on it; the sender rings it
after writing a reply to the history. It carries no data: the history table is the one
source of truth, so a missed ring costs only the socket's poll interval, never a message.

With several instances (docs/operations.md) the socket may be held by another process than
the one that wrote the reply: `relay` passes each ring on to the other instances (PostgreSQL
NOTIFY, bot/storage/notices.py), which ring their own sockets through `ring_here`.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Callable


class Hub:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = (
            defaultdict(set)
        )
        # Set by the runtime when other instances share the database: rings go to them too.
        self.relay: Callable[[str], None] | None = None

    def subscribe(self, session_id: str) -> asyncio.Event:
        """An event set whenever the session has news (call from the socket's event loop)."""
        event = asyncio.Event()
        with self._lock:
            self._waiters[session_id].add((asyncio.get_running_loop(), event))
        return event

    def unsubscribe(self, session_id: str, event: asyncio.Event) -> None:
        with self._lock:
            waiters = self._waiters.get(session_id)
            if not waiters:
                return
            for item in [w for w in waiters if w[1] is event]:
                waiters.discard(item)
            if not waiters:
                del self._waiters[session_id]

    def publish(self, session_id: str) -> None:
        """Safe from any thread or event loop (the outbox may run elsewhere)."""
        self.ring_here(session_id)
        relay = self.relay
        if relay is not None:
            relay(session_id)

    def ring_here(self, session_id: str) -> None:
        """Ring this process's sockets for the session only (a ring from another instance)."""
        with self._lock:
            waiters = list(self._waiters.get(session_id, ()))
        for loop, event in waiters:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                event.set()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def connected(self, session_id: str) -> int:
        with self._lock:
            return len(self._waiters.get(session_id, ()))
