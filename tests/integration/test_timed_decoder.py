"""Issue 14: with `email.decode_timeout_seconds` set, each mail is read in a child process,
and one that takes longer is given up (quarantined "took too long") while the next is read
by a fresh child. The child's answers are the same as reading in the worker's thread."""

from __future__ import annotations

import pytest

from bot.service import quarantine
from bot.settings import Email, Settings
from channels.base import InvalidPayloadError
from channels.email.adapter import DecodeTimeout, TimedDecoder, decoder
from tests.unit.email.helpers import raw_mail

pytestmark = pytest.mark.integration


def test_the_child_reads_mail_as_the_thread_does() -> None:
    settings = Settings(email=Email(decode_timeout_seconds=30))
    timed = decoder(settings)
    assert isinstance(timed, TimedDecoder)
    try:
        in_thread = decoder(Settings())
        for raw in (raw_mail(), raw_mail(Auto_Submitted="auto-replied")):
            assert timed(raw, "t") == in_thread(raw, "t")
        with pytest.raises(InvalidPayloadError, match="no header fields"):
            timed(b"\x00\x01 not a mail", "t")
    finally:
        timed.close()


def test_a_mail_over_the_limit_is_given_up_and_the_next_is_read() -> None:
    timed = TimedDecoder(max_bytes=50_000_000, own=frozenset(), seconds=0.001)
    try:
        slow = raw_mail("<p>" + "<b>damp</b> " * 300_000, Content_Type="text/html; charset=utf-8")
        with pytest.raises(DecodeTimeout) as caught:
            timed(slow, "t")
        assert quarantine.classify(caught.value).reason.startswith("took too long")
        timed.seconds = 30
        assert timed(raw_mail(), "t").message.sender == "jo.bloggs@example.org"
    finally:
        timed.close()
