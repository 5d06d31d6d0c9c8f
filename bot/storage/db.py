"""Engine creation and schema migration. Called from the wiring point only, never at import."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

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


def _serialise_writers(engine: sa.Engine) -> None:
    """Give this process's SQLite writers their turn through a Python lock.

    SQLite has one writer at a time. A connection that finds the write lock taken sleeps in
    SQLite's busy handler in steps of up to 100 ms, and the IMAP intake, the pipeline and
    the outbox write from their own threads (a profile of an email burst showed them waiting
    on each other). Here a waiting writer wakes the moment the lock is free. It is taken at a
    transaction's first write, exactly when SQLite takes its own (pysqlite begins the
    transaction there), and released after COMMIT or ROLLBACK, so a waiting writer starts
    the moment the database is free; readers never wait (WAL).
    """
    lock = threading.Lock()
    holders: set[int] = set()  # ids of the DBAPI connections holding the lock

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _take_turn(conn: sa.Connection, _cursor: Any, statement: str, *_args: Any) -> None:
        dbapi = conn.connection.dbapi_connection
        key = id(dbapi)
        is_write = statement.lstrip()[:7].upper().startswith(_WRITES)
        if is_write and key not in holders and lock.acquire(timeout=_WRITE_TURN_TIMEOUT):
            holders.add(key)

    dialect = engine.dialect

    def _ended(dbapi_connection: Any) -> None:
        # The dialect is handed the pool's proxy or the raw connection; key on the raw one.
        key = id(getattr(dbapi_connection, "dbapi_connection", dbapi_connection))
        if key in holders:
            holders.discard(key)
            lock.release()

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
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    command.upgrade(alembic_config(engine), "head")
