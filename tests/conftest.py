"""Shared fixtures. Database fixtures give both real backends: SQLite (a file, WAL) and
PostgreSQL on 127.0.0.1:5432 (database `test`), each test in a schema of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.storage.db import create_engine, migrate

REPO = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("DOORSTEP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def shared_dir() -> Path | None:
    """../shared beside the repository (CI has it; a bare clone may not)."""
    configured = os.environ.get("DOORSTEP_SHARED_DIR")
    candidate = Path(configured) if configured else REPO.parent / "shared"
    return candidate if candidate.is_dir() else None


def _pg_available() -> bool:
    try:
        engine = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def pg_available() -> bool:
    return _pg_available()


def make_sqlite_engine(tmp_path: Path) -> sa.Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'doorstep.db'}")
    migrate(engine)
    return engine


def make_pg_engine() -> tuple[sa.Engine, str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    migrate(engine)
    return engine, schema


def drop_pg_schema(schema: str) -> None:
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def need_postgresql(pg_available: bool) -> None:
    """Skip a PostgreSQL case where the server is not running; in CI, where it must be, fail."""
    if not pg_available:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_URL}")
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(
    request: pytest.FixtureRequest, tmp_path: Path, pg_available: bool
) -> Iterator[sa.Engine]:
    """A migrated, empty database on each real backend."""
    if request.param == "sqlite":
        eng = make_sqlite_engine(tmp_path)
        yield eng
        eng.dispose()
        return
    need_postgresql(pg_available)
    eng, schema = make_pg_engine()
    yield eng
    eng.dispose()
    drop_pg_schema(schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, pg_available: bool
) -> Iterator[str]:
    """A database on each real backend as a URL, for code that opens its own connections
    (a CLI command, a server process): a new SQLite file, or a PostgreSQL schema of its own,
    already migrated, that the URL's search_path chooses."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'doorstep.db'}"
        return
    need_postgresql(pg_available)
    eng, schema = make_pg_engine()
    eng.dispose()
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        drop_pg_schema(schema)
