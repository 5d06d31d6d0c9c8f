"""Notices between instances: "session S has a new line", "there is stored mail to decide on".

Several `doorstep serve` processes on one PostgreSQL each hold some of the residents' chat
sockets, and only one of them decides on stored messages at a time (bot/storage/leases.py).
A notice tells the others at once, through PostgreSQL's LISTEN/NOTIFY, instead of leaving
them to their next poll. Notices carry no data, only a topic and a key: the database stays
the one source of truth, so a lost notice (a dropped connection, a restart) costs a poll
interval, never a message.

On SQLite (one instance) the bus is local: publishing does nothing beyond the process.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

log = logging.getLogger(__name__)

Listener = Callable[[str], None]

_RECONNECT_FIRST = 0.5
_RECONNECT_MOST = 10.0
_MAX_PAYLOAD = 7000  # PostgreSQL refuses notices of 8000 bytes or more


class Notices:
    """Publish and subscribe to notices shared by every instance on the same database schema.

    Listeners are called from the listening thread: they must be quick and thread-safe
    (ring an event through `call_soon_threadsafe`, as the hub does).
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self.shared = engine.dialect.name == "postgresql"
        self.origin = uuid.uuid4().hex[:12]  # our own notices come back too: skip them
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._outgoing: queue.SimpleQueue[tuple[str, str] | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._channel: str | None = None
        self._listen_conn: Any = None
        self.connected = threading.Event()  # set while the listening session is up

    def subscribe(self, topic: str, listener: Listener) -> None:
        self._listeners[topic].append(listener)

    def publish(self, topic: str, key: str = "") -> None:
        """Tell the other instances; never blocks (a thread of its own sends it)."""
        if self.shared and self._threads and not self._stop.is_set():
            self._outgoing.put((topic, key))

    def start(self) -> None:
        if not self.shared or self._threads:
            return
        for target, name in ((self._listen, "notices-listen"), (self._send, "notices-send")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._outgoing.put(None)
        conn = self._listen_conn
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.cancel_safe(timeout=1.0)
        for thread in self._threads:
            thread.join(timeout=5.0)
        self._threads.clear()

    # ---- PostgreSQL --------------------------------------------------------------------

    def _connect(self) -> Any:
        """A session of our own, outside the pool, with the engine's connect arguments."""
        proxied = self._engine.raw_connection()
        conn: Any = proxied.driver_connection
        proxied.detach()  # ours alone, closed by us
        conn.autocommit = True
        if self._channel is None:
            row = conn.execute("SELECT current_schema()").fetchone()
            scope = str(row[0]) if row and row[0] else "public"
            # Schemas share a server's notice channels: one channel per schema.
            self._channel = "doorstep_" + hashlib.blake2b(scope.encode(), digest_size=8).hexdigest()
        return conn

    def _listen(self) -> None:
        pause = _RECONNECT_FIRST
        while not self._stop.is_set():
            conn = None
            try:
                conn = self._connect()
                conn.execute(f"LISTEN {self._channel}")
                self._listen_conn = conn
                self.connected.set()
                pause = _RECONNECT_FIRST
                # Whatever was said while we were away: let listeners look for themselves.
                self._dispatch("*", "")
                while not self._stop.is_set():
                    for notice in conn.notifies(timeout=1.0):
                        self._on_notice(notice.payload)
            except Exception as exc:
                if self._stop.is_set():
                    break
                log.warning("notice listener lost its connection (%s); reconnecting", exc)
            finally:
                self.connected.clear()
                self._listen_conn = None
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
            if self._stop.wait(pause):
                break
            pause = min(pause * 2, _RECONNECT_MOST)

    def _on_notice(self, payload: str) -> None:
        origin, _, rest = payload.partition("|")
        if origin == self.origin:
            return
        topic, _, key = rest.partition("|")
        self._dispatch(topic, key)

    def _dispatch(self, topic: str, key: str) -> None:
        for name in (topic,) if topic != "*" else tuple(self._listeners):
            for listener in self._listeners.get(name, ()):
                try:
                    listener(key)
                except Exception:
                    log.exception("notice listener for %s failed", name)

    def _send(self) -> None:
        conn: Any = None
        while True:
            item = self._outgoing.get()
            if item is None:
                break
            # Ordered (a dict, not a set): notices go in the order they were published, and
            # the same notice twice in a batch is one notice.
            batch = {item: None}
            with contextlib.suppress(queue.Empty):
                while len(batch) < 500:
                    more = self._outgoing.get_nowait()
                    if more is None:
                        self._stop.set()
                        break
                    batch.setdefault(more)
            try:
                if conn is None:
                    conn = self._connect()
                for topic, key in batch:
                    payload = f"{self.origin}|{topic}|{key}"[:_MAX_PAYLOAD]
                    conn.execute("SELECT pg_notify(%s, %s)", (self._channel, payload))
            except Exception as exc:
                # Lost: the listeners' polls pick the work up. Reconnect for the next one.
                log.warning("could not send %d notice(s): %s", len(batch), type(exc).__name__)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                conn = None
            if self._stop.is_set():
                break
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
