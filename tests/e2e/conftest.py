"""Real servers shared by the end-to-end tests: Dovecot with one mailbox, and an SMTP sink."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.dovecot import TEST_PASSWORD, TEST_USER, DovecotServer
from tests.support.smtp_sink import SmtpSink


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    with DovecotServer() as server:
        server.add_user(TEST_USER, TEST_PASSWORD)
        yield server


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink
