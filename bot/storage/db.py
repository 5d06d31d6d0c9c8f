"""Engine creation and schema migration. Called from the wiring point only, never at import."""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here; SQLite paths get their folder created."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str, **kwargs: Any) -> sa.Engine:
    url = normalise_url(url)
    # A database error's message must not carry the statement's values into logs and
    # /api/status: they are residents' words and addresses.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the web app read while a worker writes; foreign keys are off by default.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        _serialise_writers(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(url, **kwargs)


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
# Beyond this a writer stops waiting for its turn and falls back to SQLite's own busy wait.
_WRITE_TURN_TIMEOUT = 30.0


class _WriterTurn:
    """One SQLite database file's turn to write, shared by every engine in this process on
    that file and, through an advisory lock on `<database>.writer-lock`, with other
    processes (the sending process beside `doorstep serve`, a CLI command).

    The thread lock orders this process's writers; the file lock (flock, which releases the
    interpreter lock while it waits) orders processes. The kernel wakes a waiting process the
    moment the holder unlocks, where SQLite's busy handler would sleep in steps of up to
    100 ms. A process that dies holding it loses it with its file descriptors.
    """

    def __init__(self, lock_path: Path | None) -> None:
        self.lock = threading.Lock()
        self.holders: set[int] = set()  # ids of the DBAPI connections holding the turn
        self._fd: int | None = None
        if lock_path is not None:
            self._fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            weakref.finalize(self, os.close, self._fd)

    def take(self, key: int) -> None:
        if key in self.holders or not self.lock.acquire(timeout=_WRITE_TURN_TIMEOUT):
            return
        if self._fd is not None:
            # A file system without flock: SQLite's own locking still holds.
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_EX)
        self.holders.add(key)

    def give_back(self, key: int) -> None:
        if key not in self.holders:
            return
        self.holders.discard(key)
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        self.lock.release()


_turns: weakref.WeakValueDictionary[str, _WriterTurn] = weakref.WeakValueDictionary()
_turns_lock = threading.Lock()


def sqlite_in_memory(url: sa.URL) -> bool:
    """An SQLite database that lives in this process's memory: no other process can see it."""
    database = url.database
    return url.get_backend_name() == "sqlite" and (
        database in (None, "", ":memory:") or "mode=memory" in (database or "")
    )


def _turn_for(url: sa.URL) -> _WriterTurn:
    database = url.database
    if sqlite_in_memory(url) or database is None:
        return _WriterTurn(None)  # one connection's own database: nobody else writes to it
    path = Path(database.removeprefix("file:").split("?", 1)[0]).resolve()
    with _turns_lock:
        turn = _turns.get(str(path))
        if turn is None:
            turn = _WriterTurn(path.with_name(path.name + ".writer-lock"))
            _turns[str(path)] = turn
        return turn


def _serialise_writers(engine: sa.Engine) -> None:
    """Give SQLite writers their turn without SQLite's sleeping busy wait.

    SQLite has one writer at a time. A connection that finds the write lock taken sleeps in
    SQLite's busy handler in steps of up to 100 ms, and the IMAP intake, the pipeline and
    the outbox write from their own threads and processes (a profile of an email burst
    showed them waiting on each other). Here a waiting writer wakes the moment the lock is
    free. The turn is taken at a transaction's first write, exactly when SQLite takes its
    own (pysqlite begins the transaction there), and given back after COMMIT or ROLLBACK;
    readers never wait (WAL).
    """
    turn = _turn_for(engine.url)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _take_turn(conn: sa.Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip()[:7].upper().startswith(_WRITES):
            turn.take(id(conn.connection.dbapi_connection))

    dialect = engine.dialect

    def _ended(dbapi_connection: Any) -> None:
        # The dialect is handed the pool's proxy or the raw connection; key on the raw one.
        turn.give_back(id(getattr(dbapi_connection, "dbapi_connection", dbapi_connection)))

    def _wrap(original: Any) -> Any:
        def finish(dbapi_connection: Any) -> None:
            try:
                original(dbapi_connection)
            finally:
                _ended(dbapi_connection)

        return finish

    # Per engine: each engine has its own dialect instance. The pool's reset-on-return
    # rolls back through do_rollback too, so a connection returned mid-transaction frees it.
    dialect.do_commit = _wrap(dialect.do_commit)  # type: ignore[method-assign]
    dialect.do_rollback = _wrap(dialect.do_rollback)  # type: ignore[method-assign]

    @sa.event.listens_for(engine, "close")
    def _closed(dbapi_connection: Any, _record: Any) -> None:
        _ended(dbapi_connection)


def alembic_config(engine: sa.Engine) -> Config:
    # Alembic is imported here, not at the top: a sending process never migrates.
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")
