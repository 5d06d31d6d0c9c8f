"""Raw mail for unit tests, written out by hand so each test shows exactly what it feeds in."""

from __future__ import annotations

from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy


def raw_mail(body: str = "Hello, my boiler is broken.", /, **headers: str | None) -> bytes:
    """Header names from keyword arguments: `x_loop="..."` -> `X-Loop: ...`."""
    fields = {
        "From": "Jo Bloggs <Jo.Bloggs@Example.org>",
        "To": "repairs@landlord.example",
        "Subject": "Boiler",
        "Date": "Mon, 03 Mar 2025 10:00:00 +0000",
        "Message-ID": "<abc123@example.org>",
    }
    for key, value in headers.items():
        name = "-".join(part.capitalize() for part in key.split("_"))
        name = {"Message-Id": "Message-ID", "List-Id": "List-Id"}.get(name, name)
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
    head = "".join(f"{k}: {v}\r\n" for k, v in fields.items())
    return (head + "\r\n" + body.replace("\n", "\r\n")).encode("utf-8")


def message_of(raw: bytes) -> EmailMessage:
    parsed = BytesParser(policy=default_policy).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    return parsed
