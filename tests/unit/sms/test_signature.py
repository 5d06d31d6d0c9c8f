"""Twilio's own published webhook-signature vectors, checked against the SDK's validator
that the webhook uses (docs: "Webhooks security"; twilio-python's own unit test)."""

from __future__ import annotations

from twilio.request_validator import RequestValidator

URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TOKEN = "12345"
DOCS_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
DOCS_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
# The same example as twilio-python's tests/unit/test_request_validator.py writes it.
SDK_PARAMS = {**DOCS_PARAMS, "Caller": "+14158675309", "From": "+14158675309"}
SDK_SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_twilio_docs_vector() -> None:
    validator = RequestValidator(TOKEN)
    assert validator.compute_signature(URL, DOCS_PARAMS) == DOCS_SIGNATURE
    assert validator.validate(URL, DOCS_PARAMS, DOCS_SIGNATURE)


def test_twilio_sdk_vector() -> None:
    assert RequestValidator(TOKEN).validate(URL, SDK_PARAMS, SDK_SIGNATURE)


def test_any_change_breaks_the_signature() -> None:
    validator = RequestValidator(TOKEN)
    assert not validator.validate(URL, {**DOCS_PARAMS, "Digits": "9999"}, DOCS_SIGNATURE)
    assert not validator.validate(URL.replace("bar=2", "bar=3"), DOCS_PARAMS, DOCS_SIGNATURE)
    assert not validator.validate(
        "http://mycompany.com/myapp.php?foo=1&bar=2", DOCS_PARAMS, DOCS_SIGNATURE
    )
    assert not RequestValidator("54321").validate(URL, DOCS_PARAMS, DOCS_SIGNATURE)
