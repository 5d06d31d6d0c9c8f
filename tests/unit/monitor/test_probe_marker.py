"""The probe marker (MONITOR): a probe is told from a resident's message only by a token
signed with the landlord's secret; anything a resident can write is a resident's message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.probe import marker as m

SECRET = "probe-secret-for-tests"
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_a_signed_marker_is_recognised_on_its_own_channel() -> None:
    token, issued = m.sign(SECRET, "sms", NOW)
    found = m.verify(SECRET, f"Hello, how do I pay my rent? {token}", "sms", NOW, HOUR)
    assert found == issued
    assert found is not None and found.nonce and found.channel == "sms"


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # one character of the signature
        lambda t: t.replace("-sms-", "-webchat-"),  # another channel, same signature
        lambda t: t.replace(t.split("-")[3], "0" * 12),  # another nonce
        lambda t: t.replace(t.split("-")[2], str(int(t.split("-")[2]) + 1)),  # another time
        lambda t: t.upper(),
        lambda t: t.split("-", 1)[1],  # no prefix
        lambda t: "DSPROBE-sms-1765101600-aaaaaaaaaaaa-" + "f" * 32,  # made up
    ],
)
def test_a_forged_marker_is_nothing(forge: object) -> None:
    token, _ = m.sign(SECRET, "sms", NOW)
    forged = forge(token)  # type: ignore[operator]
    for channel in ("sms", "webchat"):
        assert m.verify(SECRET, f"my rent {forged}", channel, NOW, HOUR) is None


def test_another_landlords_secret_or_no_secret_makes_no_probe() -> None:
    token, _ = m.sign("someone-else", "webchat", NOW)
    assert m.verify(SECRET, token, "webchat", NOW, HOUR) is None
    token, _ = m.sign(SECRET, "webchat", NOW)
    assert m.verify(None, token, "webchat", NOW, HOUR) is None
    assert m.verify("", token, "webchat", NOW, HOUR) is None


def test_an_old_marker_replayed_later_is_nothing() -> None:
    token, _ = m.sign(SECRET, "sms", NOW)
    assert m.verify(SECRET, token, "sms", NOW + timedelta(minutes=59), HOUR) is not None
    assert m.verify(SECRET, token, "sms", NOW + timedelta(minutes=61), HOUR) is None
    assert m.verify(SECRET, token, "sms", NOW - timedelta(minutes=30), HOUR) is None  # future


def test_hostile_text_around_a_marker() -> None:
    token, _ = m.sign(SECRET, "sms", NOW)
    assert m.verify(SECRET, "DSPROBE-" * 5000, "sms", NOW, HOUR) is None
    assert m.verify(SECRET, "ДSPROBE ✓ \x00 " + "x" * 50000, "sms", NOW, HOUR) is None
    # Glued to other words the marker is not a whole token.
    assert m.verify(SECRET, f"abc{token}def", "sms", NOW, HOUR) is None
    assert m.verify(SECRET, f"(see {token}).", "sms", NOW, HOUR) is not None


def test_email_probes_are_marked_in_the_header_only() -> None:
    token, _ = m.sign(SECRET, "email", NOW)
    mail = (
        f"From: probe@example.org\r\nTo: repairs@example.org\r\nSubject: Rent\r\n"
        f"{m.HEADER}: {token}\r\n\r\nHello\r\n"
    ).encode()
    found = m.recognise(SECRET, "email", raw=mail, body="Hello", now=NOW, max_age=HOUR)
    assert found is not None
    # A resident who pastes a token into the text of an email is still a resident.
    plain = b"From: r@example.net\r\nSubject: Rent\r\n\r\n" + token.encode()
    assert m.recognise(SECRET, "email", raw=plain, body=token, now=NOW, max_age=HOUR) is None
    assert (
        m.recognise(SECRET, "email", raw=b"\xff\xfe garbage", body="", now=NOW, max_age=HOUR)
        is None
    )
    assert m.recognise(None, "email", raw=mail, body="", now=NOW, max_age=HOUR) is None


def test_chat_and_sms_probes_are_marked_in_the_text() -> None:
    token, _ = m.sign(SECRET, "webchat", NOW)
    found = m.recognise(SECRET, "webchat", raw=None, body=f"Hi {token}", now=NOW, max_age=HOUR)
    assert found is not None
    assert m.recognise(SECRET, "sms", raw=None, body=f"Hi {token}", now=NOW, max_age=HOUR) is None
