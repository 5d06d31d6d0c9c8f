"""Webhook authenticity for Meta and X: HMAC-SHA256 over the raw body, compared in constant
time, checked before the body is parsed (Rasa's connector checked only the legacy SHA-1
header, with `==`; Chatwoot once accepted unsigned Instagram webhooks)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def _hmac(secret: str, data: bytes) -> bytes:
    return hmac.new(secret.encode("utf-8"), data, hashlib.sha256).digest()


def meta_signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """`X-Hub-Signature-256: sha256=<hex>` (the app secret signs the raw body)."""
    if not app_secret or not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + _hmac(app_secret, body).hex()
    return hmac.compare_digest(expected.encode("ascii"), header.strip().encode("ascii", "replace"))


def x_signature_valid(consumer_secret: str, body: bytes, header: str | None) -> bool:
    """`x-twitter-webhooks-signature: sha256=<base64>`."""
    if not consumer_secret or not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + base64.b64encode(_hmac(consumer_secret, body)).decode("ascii")
    return hmac.compare_digest(expected.encode("ascii"), header.strip().encode("ascii", "replace"))


def x_crc_response(consumer_secret: str, crc_token: str) -> str:
    """The answer to X's challenge-response check: `sha256=` + base64 HMAC of the token."""
    digest = _hmac(consumer_secret, crc_token.encode("utf-8"))
    return "sha256=" + base64.b64encode(digest).decode("ascii")


def meta_sign(app_secret: str, body: bytes) -> str:
    """The header Meta would send (for the test fakes and the benchmark)."""
    return "sha256=" + _hmac(app_secret, body).hex()


def x_sign(consumer_secret: str, body: bytes) -> str:
    return "sha256=" + base64.b64encode(_hmac(consumer_secret, body)).decode("ascii")
