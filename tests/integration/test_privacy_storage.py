"""The database keeps residents' data to itself (PRIVACY, issue 13): a new SQLite file and
its -wal and -shm files are readable by their owner only, and a database error never
quotes the values it was given (message bodies, addresses)."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.storage import tables as t
from bot.storage.db import create_engine, migrate

pytestmark = pytest.mark.integration


def test_a_new_sqlite_database_is_created_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "var" / "doorstep.db"
    old = os.umask(0o022)  # the usual umask, which would make it world-readable
    try:
        engine = create_engine(f"sqlite:///{path}")
        try:
            migrate(engine)
            with engine.connect() as conn:  # kept open: -wal and -shm exist while it is
                conn.execute(
                    t.contacts.insert().values(name="Jo", needs=[], created_at=datetime.now(UTC))
                )
                conn.commit()
                files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
                modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in files}
        finally:
            engine.dispose()
    finally:
        os.umask(old)
    assert modes == {p.name: 0o600 for p in files}


def test_a_database_error_does_not_quote_the_values(engine: sa.Engine) -> None:
    body = "My ex-partner is threatening me at 12 Acacia Road"
    url = engine.url.render_as_string(hide_password=False)
    ours = create_engine(url)  # the application's engine settings, same database
    try:
        with pytest.raises(sa.exc.DBAPIError) as caught, ours.begin() as conn:
            conn.execute(
                t.inbound_messages.insert().values(
                    channel="email", source="x", source_key="1", body=body, status=None
                )
            )
    finally:
        ours.dispose()
    assert "Acacia" not in str(caught.value)
