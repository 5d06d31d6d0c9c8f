"""Personal data is redacted in logs (bot/privacy/logs.py): access-log query strings,
redirects, exception texts."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.privacy import logs


@pytest.fixture
def redacting() -> Iterator[None]:
    before = logging.getLogRecordFactory()
    logs.install()
    try:
        yield
    finally:
        logging.setLogRecordFactory(before)
        logs._installed = False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /x?phone=%2B447700900123 HTTP/1.1", "GET /x?phone=[phone] HTTP/1.1"),
        ("from +44 7700 900123 and 07700 900123.", "from [phone] and [phone]."),
        ("to=jo.smith%40example.org.uk&x=1", "to=[email]&x=1"),
        ("staff ada@landlord.example signed in", "staff [email] signed in"),
        (
            "DS-7KQM-4W3P at 2026-12-21 10:00, job 12345",
            "DS-7KQM-4W3P at 2026-12-21 10:00, job 12345",
        ),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert logs.redact(text) == expected


def test_every_record_is_redacted_whoever_logs_it(
    redacting: None, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    access = logging.getLogger("uvicorn.access")
    # uvicorn's own logging config (applied by any earlier test that ran a server in this
    # process) stops its access log propagating and may raise its level; caplog listens at
    # the root.
    monkeypatch.setattr(access, "propagate", True)
    monkeypatch.setattr(access, "disabled", False)
    with caplog.at_level(logging.INFO), caplog.at_level(logging.INFO, logger=access.name):
        # uvicorn's access log: the path is an argument, formatted later.
        access.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000", "GET", "/staff/login?next=/x&email=ada%40landlord.example", "1.1",
            303,
        )  # fmt: skip
        try:
            raise ValueError("could not send to +447700900123 (jo@example.net)")
        except ValueError:
            logging.getLogger("bot.outbox").exception("send failed for %s", "jo@example.net")
    text = caplog.text
    assert "ada%40landlord" not in text and "jo@example.net" not in text
    assert "7700900123" not in text
    assert "email=[email]" in text and "send failed for [email]" in text
    assert "could not send to [phone] ([email])" in text
