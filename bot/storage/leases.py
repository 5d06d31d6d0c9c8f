"""Instance locks: among several `doorstep serve` processes on one database, which one does a
job that only one may do at a time (watch a mailbox, decide on stored inbound messages).

On PostgreSQL a lock is a session advisory lock on a connection kept for the purpose. The
server frees it the moment that session ends, so when an instance dies (even `kill -9`: the
kernel closes its socket) another takes the job over at its next heartbeat, in seconds,
with no lease to wait out. Locks are keyed by the schema as well as the name, so databases
that share a server (one schema per landlord, or per test) never block each other.

On SQLite a lock is an `flock` on a file beside the database (`<database>.lock-<name>`),
which the kernel frees with the process's file descriptors. SQLite is for one instance (see
docs/operations.md); the file lock still keeps a second one, started by mistake, from
watching the same mailbox. An in-memory database belongs to one process: every lock is its.

The holder checks its lock connection at each heartbeat (`check`): a connection that is
gone (the server restarted, the backend terminated) means every lock on it is gone too,
and the caller stops the jobs at once; it takes them again when it can.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from bot.storage.db import sqlite_in_memory

log = logging.getLogger(__name__)


class _Backend(Protocol):
    def take(self, name: str) -> bool: ...
    def give_back(self, name: str) -> None: ...
    def alive(self) -> bool: ...
    def close(self) -> None: ...


class InstanceLocks:
    """The named locks this process holds. Blocking calls: use them from a worker thread.

    Not shared between threads at once: one heartbeat calls it, one call at a time.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._held: set[str] = set()
        self._backend: _Backend | None = None
        self._guard = threading.Lock()

    @property
    def held(self) -> frozenset[str]:
        with self._guard:
            return frozenset(self._held)

    def _ensure(self) -> _Backend:
        if self._backend is None:
            self._backend = _backend_for(self._engine)
        return self._backend

    def take(self, name: str) -> bool:
        """True if this process holds `name` now (taken now, or held already)."""
        with self._guard:
            if name in self._held:
                return True
            try:
                taken = self._ensure().take(name)
            except Exception as exc:  # the database is away: try again at the next beat
                log.warning("could not ask for lock %s: %s", name, type(exc).__name__)
                self._lose_connection()
                return False
            if taken:
                self._held.add(name)
            return taken

    def give_back(self, name: str) -> None:
        with self._guard:
            if name not in self._held:
                return
            self._held.discard(name)
            if self._backend is not None:
                with contextlib.suppress(Exception):
                    self._backend.give_back(name)

    def check(self) -> frozenset[str]:
        """Make sure the locks are still ours; returns the ones that were lost (all of them
        when the lock connection has gone)."""
        with self._guard:
            if self._backend is None or not self._held:
                return frozenset()
            if self._backend.alive():
                return frozenset()
            lost = frozenset(self._held)
            log.warning("lock connection lost; giving up %s", ", ".join(sorted(lost)))
            self._lose_connection()
            return lost

    def _lose_connection(self) -> None:
        self._held.clear()
        backend, self._backend = self._backend, None
        if backend is not None:
            with contextlib.suppress(Exception):
                backend.close()

    def close(self) -> None:
        with self._guard:
            self._lose_connection()


def _backend_for(engine: sa.Engine) -> _Backend:
    if engine.dialect.name == "postgresql":
        return _AdvisoryLocks(engine)
    if sqlite_in_memory(engine.url) or not engine.url.database:
        return _ProcessLocks()
    path = Path(engine.url.database.removeprefix("file:").split("?", 1)[0]).resolve()
    return _FileLocks(path)


class _AdvisoryLocks:
    """Session advisory locks on one connection of their own, outside the pool."""

    def __init__(self, engine: sa.Engine) -> None:
        # The pool's connection factory, so the engine's connect arguments (a search_path)
        # apply; detached, so the pool never hands this session to anyone else.
        proxied = engine.raw_connection()
        conn: Any = proxied.driver_connection
        proxied.detach()
        self._conn = conn
        self._conn.autocommit = True
        row = self._conn.execute("SELECT current_schema()").fetchone()
        self._scope = str(row[0]) if row and row[0] else "public"

    def _key(self, name: str) -> int:
        # 64-bit signed, stable across processes and versions (unlike Python's hash()).
        digest = hashlib.blake2b(f"{self._scope}/{name}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big", signed=True)

    def take(self, name: str) -> bool:
        row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key(name),)).fetchone()
        return bool(row and row[0])

    def give_back(self, name: str) -> None:
        self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._key(name),))

    def alive(self) -> bool:
        try:
            self._conn.execute("SELECT 1")
        except Exception:
            return False
        return True

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._conn.close()


class _FileLocks:
    def __init__(self, database: Path) -> None:
        self._database = database
        self._fds: dict[str, int] = {}

    def _path(self, name: str) -> Path:
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
        return self._database.with_name(f"{self._database.name}.lock-{safe}")

    def take(self, name: str) -> bool:
        fd = os.open(self._path(name), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fds[name] = fd
        return True

    def give_back(self, name: str) -> None:
        fd = self._fds.pop(name, None)
        if fd is not None:
            os.close(fd)  # closing the descriptor drops its flock

    def alive(self) -> bool:
        return True

    def close(self) -> None:
        for name in list(self._fds):
            self.give_back(name)


class _ProcessLocks:
    """An in-memory database: no other process can see it, so every lock is ours."""

    def take(self, name: str) -> bool:
        return True

    def give_back(self, name: str) -> None:
        return None

    def alive(self) -> bool:
        return True

    def close(self) -> None:
        return None
