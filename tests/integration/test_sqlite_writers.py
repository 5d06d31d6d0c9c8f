"""SQLite writers in several processes take their turn through a file lock beside the
database, so the sending process beside `doorstep serve` and serve itself never wait in
SQLite's sleeping busy handler, and never get "database is locked"."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.storage.db import create_engine

pytestmark = pytest.mark.integration

TABLE = sa.table("writes", sa.column("who", sa.String), sa.column("n", sa.Integer))


def _engine(path: Path) -> sa.Engine:
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE IF NOT EXISTS writes (who TEXT, n INTEGER)"))
    return engine


def _child(path: Path, body: str) -> subprocess.Popen[str]:
    script = textwrap.dedent(
        f"""
        import sys, sqlalchemy as sa
        from bot.storage.db import create_engine
        engine = create_engine("sqlite:///{path}")
        TABLE = sa.table("writes", sa.column("who", sa.String), sa.column("n", sa.Integer))
        """
    ) + textwrap.dedent(body)
    return subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )


def _held_elsewhere(lock_file: Path) -> bool:
    fd = os.open(lock_file, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def test_a_write_transaction_holds_the_turn_for_every_process(tmp_path: Path) -> None:
    database = tmp_path / "doorstep.db"
    engine = _engine(database)
    lock_file = tmp_path / "doorstep.db.writer-lock"
    child = _child(
        database,
        """
        with engine.begin() as conn:
            conn.execute(TABLE.insert().values(who="child", n=1))
            print("writing", flush=True)
            sys.stdin.readline()  # hold the transaction open until told
        print("committed", flush=True)
        """,
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        assert child.stdout.readline().strip() == "writing"
        assert _held_elsewhere(lock_file)
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "committed"
        assert not _held_elsewhere(lock_file)  # given back at COMMIT
        # Reading takes no turn (WAL), and this process can write now.
        with engine.begin() as conn:
            conn.execute(TABLE.insert().values(who="parent", n=1))
    finally:
        child.communicate(timeout=30)
        engine.dispose()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM writes")).scalar() == 2


def test_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    database = tmp_path / "doorstep.db"
    engine = _engine(database)
    body = """
        for n in range(300):
            with engine.begin() as conn:
                conn.execute(TABLE.insert().values(who=sys.argv[0], n=n))
        print("done", flush=True)
        """
    children = [_child(database, body.replace("sys.argv[0]", f"'c{k}'")) for k in range(2)]
    try:
        for n in range(300):
            with engine.begin() as conn:
                conn.execute(TABLE.insert().values(who="parent", n=n))
        for child in children:
            out, _ = child.communicate(timeout=60)
            assert (out.strip(), child.returncode) == ("done", 0)
        with engine.connect() as conn:
            counts = dict(
                conn.execute(sa.text("SELECT who, count(*) FROM writes GROUP BY who")).all()
            )
    finally:
        engine.dispose()
    assert counts == {"parent": 300, "c0": 300, "c1": 300}
