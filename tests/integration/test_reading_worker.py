"""Issue 14 on real SQLite and PostgreSQL: a message that takes too long to read stalls
nothing. Stored messages are decoded and classified in a worker process with a time limit
per message (on by default, `reading.timeout_seconds`); the one that overruns is quarantined
"took too long to read", shown to admins at /staff/quarantine, and the rest of the batch is
acknowledged. While it runs, serve's own threads keep running (the web app, the webhooks).

The hostile steps are real ones that hold the interpreter lock: a regular expression with
catastrophic backtracking, injected as a channel's decoder or as the classifier through
`bootstrap`, the way a future slow parser step or model would behave.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import sqlalchemy as sa

from bot.bootstrap import App, bootstrap
from bot.domain.model import Channel
from bot.nlu.types import Classification
from bot.service import quarantine
from bot.service.reading import WorkerReader
from bot.settings import Reading, Settings
from bot.storage import tables as t
from channels.base import CollectingSender, DecodedInbound
from channels.email.adapter import decoder as email_decoder
from tests.fakes import FakeClock, KeywordClassifier
from tests.integration.test_dashboard import dashboard_settings, open_env

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
LIMIT = 2.0
HOSTILE = b"X-Hostile: yes"
# Exponential backtracking: each extra "a" doubles the work, all of it inside re's C loop,
# holding the interpreter lock (a thread cannot interrupt it; only another process escapes).
_BACKTRACK = re.compile(r"^(a|aa)+$")


def _backtrack() -> None:
    _BACKTRACK.match("a" * 64 + "!")


def _settings() -> Settings:
    return Settings(reading=Reading(timeout_seconds=LIMIT))


def _mail(key: str, body: str, *extra: bytes) -> bytes:
    head = (
        b"From: Jo Bloggs <jo." + key.encode() + b"@example.org>\r\n"
        b"To: repairs@landlord.example\r\n"
        b"Subject: Repair needed\r\n"
        b"Date: " + format_datetime(NOW - timedelta(hours=1)).encode() + b"\r\n"
        b"Message-ID: <" + key.encode() + b"@example.org>\r\n"
    )
    head += b"".join(x + b"\r\n" for x in extra)
    return head + b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body.encode()


class SlowToClassify(KeywordClassifier):
    """The keyword classifier, with a pathological step on one kind of text."""

    def classify(self, text: str) -> Classification:
        if "endless" in text:
            _backtrack()
        return super().classify(text)


def _app(engine: sa.Engine, *, slow_decoder: bool = True, slow_classifier: bool = False) -> App:
    settings = _settings()
    real = email_decoder(settings)

    def decode(raw: bytes, source: str) -> DecodedInbound:
        if slow_decoder and HOSTILE in raw:
            _backtrack()
        return real(raw, source)

    return bootstrap(
        settings,
        engine=engine,
        classifier=SlowToClassify() if slow_classifier else KeywordClassifier(),
        senders=[CollectingSender(Channel.EMAIL), CollectingSender(Channel.SMS)],
        decoders={Channel.EMAIL: decode},
        now=FakeClock(NOW),
        run_migrations=False,
        turn_handlers={},
    )


def _statuses(engine: sa.Engine) -> dict[str, tuple[str, str | None]]:
    c = t.inbound_messages.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(c.source_key, c.status, c.reason)).all()
    return {str(r.source_key): (str(r.status), r.reason) for r in rows}


def test_reading_in_a_worker_with_a_limit_is_the_default() -> None:
    assert Settings().reading.timeout_seconds > 0
    app_reader = bootstrap(
        Settings(database_url="sqlite://"), classifier=KeywordClassifier(), senders=[]
    ).pipeline.reader
    try:
        assert isinstance(app_reader, WorkerReader)
    finally:
        app_reader.close()


def test_a_mail_that_takes_too_long_to_read_waits_and_the_batch_goes_on(
    engine: sa.Engine,
) -> None:
    app = _app(engine)
    try:
        for n in range(6):
            extra = (HOSTILE,) if n == 2 else ()
            raw = _mail(f"m{n}", "The kitchen tap is dripping.", *extra)
            app.pipeline.store_raw(Channel.EMAIL, "imap:test", f"m{n}", raw)

        # Meanwhile serve's other threads must keep running: the longest wait between two
        # of their turns (in a thread of ours the hostile step would hold them for minutes).
        longest = 0.0
        done = threading.Event()

        def web_thread() -> None:
            nonlocal longest
            last = time.monotonic()
            while not done.is_set():
                time.sleep(0.01)
                now = time.monotonic()
                longest, last = max(longest, now - last), now

        watcher = threading.Thread(target=web_thread)
        watcher.start()
        started = time.monotonic()
        try:
            outcomes = app.pipeline.process_pending()
        finally:
            done.set()
            watcher.join()
        took = time.monotonic() - started

        by_status = sorted(o.status for o in outcomes)
        assert by_status == ["processed"] * 5 + ["quarantined"], outcomes
        statuses = _statuses(engine)
        assert statuses["m2"][0] == "quarantined"
        assert (statuses["m2"][1] or "").startswith("took too long to read")
        assert all(statuses[f"m{n}"][0] == "processed" for n in (0, 1, 3, 4, 5))
        # The limit, not the hostile step, decided how long it took; the other thread had
        # its turns throughout.
        assert took < 10 * LIMIT + 30
        assert longest < LIMIT, longest

        with engine.connect() as conn:
            waiting = quarantine.waiting(conn)
        assert [w.reason for w in waiting] == [f"took too long to read (over {LIMIT:g} s)"]

        # The worker was replaced: the next mail is read as usual.
        app.pipeline.store_raw(Channel.EMAIL, "imap:test", "m6", _mail("m6", "Boiler broken"))
        assert [o.status for o in app.pipeline.process_pending()] == ["processed"]
    finally:
        app.close()


def test_a_message_that_takes_too_long_to_classify_waits_and_the_batch_goes_on(
    engine: sa.Engine,
) -> None:
    app = _app(engine, slow_decoder=False, slow_classifier=True)
    try:
        bodies = ["Damp in the bedroom", "An endless aaaa", "The lift is broken", "Heating off"]
        for n, body in enumerate(bodies):
            app.pipeline.store_raw(Channel.EMAIL, "imap:test", f"c{n}", _mail(f"c{n}", body))
        outcomes = app.pipeline.process_pending()
        assert sorted(o.status for o in outcomes) == ["processed"] * 3 + ["quarantined"]
        statuses = _statuses(engine)
        assert statuses["c1"] == ("quarantined", f"took too long to read (over {LIMIT:g} s)")
    finally:
        app.close()


def test_what_the_worker_reads_is_what_the_thread_reads(engine: sa.Engine) -> None:
    """The same answers, the same unreadable reasons, the same exceptions (a decoder bug
    is quarantined as a processing error, as it was in the thread)."""
    app = _app(engine, slow_decoder=False)
    try:
        raws = {
            "ok": _mail("ok", "Water is coming through the ceiling"),
            "auto": _mail("auto", "I am out of the office", b"Auto-Submitted: auto-replied"),
            "junk": b"\x00\x01 not a mail",
        }
        for key, raw in raws.items():
            app.pipeline.store_raw(Channel.EMAIL, "imap:test", key, raw)
        rows = [
            r
            for r in app.pipeline.process_pending()
            if r.status != "retry"  # not expected; a loaded machine must not hide it
        ]
        assert sorted(r.status for r in rows) == ["processed", "quarantined", "suppressed"]
        statuses = _statuses(engine)
        assert statuses["junk"][0] == "quarantined"
        assert (statuses["junk"][1] or "").startswith("unreadable")
    finally:
        app.close()


async def test_admins_see_it_in_the_waiting_room(engine: sa.Engine) -> None:
    app = _app(engine)
    try:
        raw = _mail("slow", "Mould everywhere", HOSTILE)
        app.pipeline.store_raw(Channel.EMAIL, "imap:test", "slow", raw)
        assert [o.status for o in app.pipeline.process_pending()] == ["quarantined"]
    finally:
        app.close()
    async with open_env(engine, dashboard_settings()) as env:
        await env.login("admin@landlord.example")
        page = await env.html("/staff/quarantine")
        assert "took too long to read" in page
        assert "Mould" not in page


def test_the_worker_is_replaced_after_a_number_of_messages(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages written after a fork are copied: a fresh worker every few hundred messages keeps
    that copy small. Here every 2 messages; none is lost or read twice on the way."""
    from bot.service import reading

    monkeypatch.setattr(reading, "RECYCLE_AFTER", 2)
    app = _app(engine, slow_decoder=False)
    try:
        reader = app.pipeline.reader
        assert isinstance(reader, WorkerReader)
        pids = []
        for batch in range(3):
            for n in range(3):
                key = f"r{batch}-{n}"
                app.pipeline.store_raw(Channel.EMAIL, "imap:test", key, _mail(key, "Damp"))
            assert [o.status for o in app.pipeline.process_pending()] == ["processed"] * 3
            pids.append(reader.worker_pid)
        assert None not in pids and len(set(pids)) == 3
    finally:
        app.close()
