"""The TOTP second factor's code check (RFC 6238): the current step and one either side,
digits only; and the QR code for enrolment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp

from bot.web.dashboard import totp

NOW = datetime(2026, 12, 7, 10, 0, 10, tzinfo=UTC)


def test_codes_within_one_step_either_side_match() -> None:
    secret = totp.new_secret()
    step = int(NOW.timestamp()) // 30
    for offset in (-1, 0, 1):
        code = pyotp.TOTP(secret).at(NOW + timedelta(seconds=30 * offset))
        assert totp._matching_step(secret, code, NOW) == step + offset
    for offset in (-3, 2, 5):
        code = pyotp.TOTP(secret).at(NOW + timedelta(seconds=30 * offset))
        assert totp._matching_step(secret, code, NOW) is None


def test_spaces_are_ignored_and_anything_else_is_refused() -> None:
    secret = totp.new_secret()
    code = pyotp.TOTP(secret).at(NOW)
    assert totp._matching_step(secret, f"{code[:3]} {code[3:]}", NOW) is not None
    for bad in ("", "12345", "1234567", "abcdef", code + "0", "١٢٣٤٥٦"):
        assert totp._matching_step(secret, bad, NOW) is None


def test_enrolment_qr_is_an_svg_data_uri_with_the_issuer() -> None:
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, email="ada@x.example", issuer="Doorstep Housing")
    assert uri.startswith("otpauth://totp/") and "issuer=Doorstep%20Housing" in uri
    assert totp.qr_data_uri(uri).startswith("data:image/svg+xml")
