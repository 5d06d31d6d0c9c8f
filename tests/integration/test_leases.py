"""Instance locks and notices on real SQLite and PostgreSQL: one holder at a time, freed the
moment the holder's session ends (a dead instance's jobs move in seconds), scoped to one
schema, and notices that reach the other instances (chat replies, stored mail to decide on).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.storage.db import create_engine
from bot.storage.leases import InstanceLocks
from bot.storage.notices import Notices
from tests.conftest import drop_pg_schema, make_pg_engine

pytestmark = pytest.mark.integration


def _eventually_take(locks: InstanceLocks, name: str, within: float = 5.0) -> None:
    """The server ends a closed session a moment after the client goes: a heartbeat or two."""
    deadline = time.monotonic() + within
    while not locks.take(name):
        assert time.monotonic() < deadline, f"{name} was not freed"
        time.sleep(0.05)


def test_one_holder_at_a_time_and_freed_when_it_goes(engine: sa.Engine) -> None:
    first, second = InstanceLocks(engine), InstanceLocks(engine)
    try:
        assert first.take("mailbox:housing")
        assert first.take("mailbox:housing")  # held already: still ours
        assert not second.take("mailbox:housing")
        assert second.take("inbound")  # another name is another lock
        assert not first.take("inbound")
        first.close()  # the process died: its session (or file) is gone
        _eventually_take(second, "mailbox:housing")
        assert second.held == {"mailbox:housing", "inbound"}
        second.give_back("inbound")
        third = InstanceLocks(engine)
        assert third.take("inbound")
        third.close()
    finally:
        first.close()
        second.close()


def test_a_terminated_lock_session_is_noticed_and_the_lock_moves(engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("session locks are PostgreSQL's")
    holder, other = InstanceLocks(engine), InstanceLocks(engine)
    try:
        assert holder.take("inbound")
        assert holder.check() == frozenset()
        with engine.connect() as conn:
            # What a PostgreSQL restart or a dropped connection does to the holder's session.
            pid = holder._backend._conn.info.backend_pid  # type: ignore[union-attr]
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        _eventually_take(other, "inbound")
        assert holder.check() == {"inbound"}  # noticed at its next heartbeat
        assert holder.held == frozenset()
        assert not holder.take("inbound")  # reconnects, and finds it taken
    finally:
        holder.close()
        other.close()


def test_locks_of_one_schema_do_not_block_another(pg_available: bool) -> None:
    if not pg_available:
        pytest.skip("PostgreSQL is not running")
    (one, schema_one), (two, schema_two) = make_pg_engine(), make_pg_engine()
    a, b = InstanceLocks(one), InstanceLocks(two)
    try:
        assert a.take("inbound") and b.take("inbound")
    finally:
        a.close()
        b.close()
        one.dispose()
        two.dispose()
        drop_pg_schema(schema_one)
        drop_pg_schema(schema_two)


def test_file_locks_on_sqlite_keep_a_second_instance_off(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'd.db'}")
    first, second = InstanceLocks(engine), InstanceLocks(engine)
    try:
        assert first.take("mailbox:x") and not second.take("mailbox:x")
        assert (tmp_path / "d.db.lock-mailbox_x").exists()
    finally:
        first.close()
        second.close()
        engine.dispose()


def test_notices_reach_the_other_instances_not_the_sender(engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        notices = Notices(engine)
        notices.publish("chat", "s1")  # one instance on SQLite: nothing to do, no error
        assert not notices.shared
        return
    here, there = Notices(engine), Notices(engine)
    heard_here: list[str] = []
    heard_there: list[str] = []
    got = threading.Event()
    here.subscribe("chat", heard_here.append)

    def on_chat(key: str) -> None:
        heard_there.append(key)
        if key == "s2":
            got.set()

    there.subscribe("chat", on_chat)
    here.start()
    there.start()
    try:
        assert here.connected.wait(10) and there.connected.wait(10)
        here.publish("chat", "s1")
        here.publish("chat", "s2")
        assert got.wait(10)
        assert [k for k in heard_there if k] == ["s1", "s2"] or set(heard_there) >= {"s1", "s2"}
        assert [k for k in heard_here if k] == []
    finally:
        here.stop()
        there.stop()


def test_database_errors_never_carry_the_values_into_logs(engine: sa.Engine) -> None:
    """A failed statement's error (logged, and shown on /api/status) names the statement,
    never the resident's words that were its values."""
    from bot.storage import tables as t

    row = {
        "channel": "email",
        "source": "imap:housing",
        "source_key": "1:1",
        "raw": b"x",
        "status": "received",
        "body": "my secret words",
    }
    columns = {c.name for c in t.inbound_messages.c}
    row = {k: v for k, v in row.items() if k in columns}
    with pytest.raises(sa.exc.DBAPIError) as caught, engine.begin() as conn:
        conn.execute(t.inbound_messages.insert(), row)
        conn.execute(t.inbound_messages.insert(), row)  # the same source key twice
    assert "my secret words" not in str(caught.value)
    assert "hidden" in str(caught.value)
