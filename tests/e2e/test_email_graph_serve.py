"""The whole server with a Graph mailbox: the real app (`create_app`, its workers and its
webhook routes) under uvicorn on SQLite and PostgreSQL, the fake Graph and the fake identity
provider. What a landlord sees: one acknowledgement per enquiry however often Graph
notifies, the mailbox's past stored for staff but not acknowledged, auto-replies recognised
from Graph's MIME exactly as from IMAP, and the mailbox's state on /api/status."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import sqlalchemy as sa

from bot.bootstrap import bootstrap
from bot.domain.model import Channel
from bot.settings import Settings
from bot.storage import tables as t
from bot.web.api_tokens import add_token
from bot.web.app import create_app
from channels.base import CollectingSender
from tests.fakes import KeywordClassifier
from tests.support.fake_graph import FakeGraph, running_fake_graph, serve_asgi
from tests.support.fake_oauth import FakeOAuth
from tests.support.net import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

USER = "repairs@landlord.example"


def mail(n: int, *, date: datetime | None = None, extra: str = "") -> bytes:
    when = format_datetime(date or datetime.now(UTC))
    return (
        f"From: Resident {n} <resident{n}@example.org>\r\nTo: {USER}\r\n"
        f"Subject: boiler {n}\r\nMessage-ID: <serve-{n}@example.org>\r\n{extra}"
        f"Date: {when}\r\n\r\nMy boiler is broken and there is no hot water.\r\n"
    ).encode()


@contextmanager
def serving(
    engine: sa.Engine, idp: FakeOAuth, graph: FakeGraph, *, send_with_graph: bool = False
) -> Iterator[tuple[str, CollectingSender]]:
    port = free_port()
    settings = Settings(
        public_url=f"http://127.0.0.1:{port}",
        email={
            "from_address": USER,
            "mailboxes": [
                {
                    "name": "repairs",
                    "username": USER,
                    "intake": "graph",
                    "auth": "oauth2",
                    "provider": "microsoft",
                    "tenant": "contoso",
                    "client_id": "app",
                    "client_secret": "secret",
                    "authority_host": idp.url,
                    "oauth_ca_file": idp.ca_file,
                    "graph_url": graph.url,
                }
            ],
            "sender": "graph" if send_with_graph else "smtp",
        },
    )
    sender = CollectingSender(Channel.EMAIL)
    app = bootstrap(
        settings,
        engine=engine,
        classifier=KeywordClassifier(),
        senders=None if send_with_graph else [sender],
        run_migrations=False,
    )
    with serve_asgi(create_app(app), port=port, lifespan=True) as url:
        yield url, sender
    app.close()


@pytest.fixture
def idp() -> Iterator[FakeOAuth]:
    with FakeOAuth() as fake:
        fake.add_client("app", "secret", mailbox=USER)
        yield fake


@pytest.fixture
def graph(idp: FakeOAuth) -> Iterator[FakeGraph]:
    with running_fake_graph(check_token=lambda t: bool(idp.introspect(t)["active"])) as fake:
        yield fake


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def inbound_rows(engine: sa.Engine) -> list[sa.Row[tuple[str, str, str | None]]]:
    c = t.inbound_messages.c
    with engine.connect() as conn:
        return list(conn.execute(sa.select(c.source, c.status, c.reason).order_by(c.id)))


def test_graph_mailbox_end_to_end(engine: sa.Engine, idp: FakeOAuth, graph: FakeGraph) -> None:
    # The mailbox's past: a resident who wrote a month ago, and one from this morning.
    graph.deliver(USER, mail(1, date=datetime.now(UTC) - timedelta(days=30)), notify=0)
    graph.deliver(USER, mail(2, date=datetime.now(UTC) - timedelta(minutes=5)), notify=0)
    with serving(engine, idp, graph) as (url, sender):
        wait_until(lambda: len(graph.live_subscriptions()) == 1)
        wait_until(lambda: len(inbound_rows(engine)) == 2)
        # New mail, notified three times (Graph retries): one acknowledgement.
        graph.deliver(USER, mail(3), notify=3)
        # An out-of-office reply through Graph: stored, never answered.
        graph.deliver(USER, mail(4, extra="Auto-Submitted: auto-replied\r\n"))
        wait_until(lambda: len(inbound_rows(engine)) == 4)
        wait_until(lambda: {m.recipient for m in sender.sent} >= {"resident3@example.org"})
        time.sleep(1.0)  # any second acknowledgement would have been sent by now
        with engine.begin() as conn:  # /api/status needs credentials: a monitoring token
            _, token = add_token(conn, name="monitor", scope="read", now=datetime.now(UTC))
        status = httpx.get(f"{url}/api/status", headers={"Authorization": f"Bearer {token}"}).json()
    acknowledged = sorted(m.recipient for m in sender.sent if m.kind == "acknowledgement")
    assert acknowledged == ["resident2@example.org", "resident3@example.org"]
    rows = inbound_rows(engine)
    assert len(rows) == 4 and all(r.source == "graph:repairs" for r in rows)
    with engine.connect() as conn:
        reasons = list(conn.execute(sa.select(t.suppressions.c.reason)).scalars())
    # The month-old one is stored for staff, with why it was not answered.
    assert any("days" in r for r in reasons)
    assert "auto-submitted" in reasons
    (box,) = status["mailboxes"]
    assert box["name"] == "repairs" and box["intake"] == "graph" and box["state"] == "connected"


def test_acknowledgement_sent_with_graph_threads_under_the_mail(
    engine: sa.Engine, idp: FakeOAuth, graph: FakeGraph
) -> None:
    from email import message_from_bytes
    from email.policy import default as default_policy

    with serving(engine, idp, graph, send_with_graph=True):
        wait_until(lambda: len(graph.live_subscriptions()) == 1)
        graph.deliver(USER, mail(9))
        (raw,) = graph.wait_sent(1, timeout=20)
    sent = message_from_bytes(raw, policy=default_policy)
    assert sent["To"] == "resident9@example.org"
    assert sent["In-Reply-To"] == "<serve-9@example.org>"
    assert sent["Auto-Submitted"] == "auto-replied"
