"""Storage details that matter under concurrency, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from bot.storage import tables as t
from bot.storage.repository import UnitOfWork

pytestmark = pytest.mark.integration


def test_two_first_messages_from_one_new_number_share_one_contact(engine: sa.Engine) -> None:
    """Two webhooks for a new number at once: the second waits, then uses the first's contact
    (no IntegrityError, no duplicate resident)."""
    found: list[int] = []
    failures: list[BaseException] = []

    def second() -> None:
        try:
            with UnitOfWork(engine) as uow:
                found.append(uow.contact_for("phone", "+447700900123", "Sam"))
                uow.commit()
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    with UnitOfWork(engine) as first:
        first_id = first.contact_for("phone", "+447700900123", "Sam")
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)  # the second is now waiting on the first's write
        first.commit()
    thread.join(timeout=30)
    assert not failures
    assert found == [first_id]
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.contacts)).scalar_one() == 1
