"""A local fake of the parts of Twilio's REST API the SDK calls, for the real SDK to talk to.

`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` answers 201 with a Message resource
shaped as Twilio documents it; every request is recorded (path, form, basic-auth user).
Failures are scripted: `fail_next(429)`, `fail_next(500)`, `fail_next(400, code=21610)`
answer the next requests with Twilio's error JSON (`code`, `message`, `more_info`,
`status`). `deliver(sid, "delivered")` posts a signed status callback to the URL the
message asked for, as Twilio would.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
from twilio.request_validator import RequestValidator

_MESSAGES = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-fA-F]{32})/Messages\.json$")

_ACCOUNT = re.compile(r"^/2010-04-01/Accounts/(?P<sid>AC[0-9a-fA-F]{32})\.json$")

ERRORS = {
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
    21610: (21610, "Attempt to send to unsubscribed recipient"),
    21211: (21211, "The 'To' number is not a valid phone number."),
}


@dataclass
class SentMessage:
    sid: str
    account_sid: str
    form: dict[str, str]
    auth_user: str | None
    at: datetime

    @property
    def to(self) -> str:
        return self.form.get("To", "")

    @property
    def body(self) -> str:
        return self.form.get("Body", "")


@dataclass
class FakeTwilio:
    account_sid: str
    auth_token: str
    messages: list[SentMessage] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path) of all
    _failures: list[tuple[int, int]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    url: str = ""
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def fail_next(self, status: int, *, code: int | None = None, times: int = 1) -> None:
        with self._lock:
            self._failures.extend([(status, code or status)] * times)

    def _next_failure(self) -> tuple[int, int] | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def record(self, sent: SentMessage) -> None:
        with self.arrived:
            self.messages.append(sent)
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[SentMessage]:
        """Block until `count` messages arrived (a readiness wait, not a timed assertion)."""
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout=timeout)
            return list(self.messages)

    def new_sid(self) -> str:
        return f"SM{next(self._ids):032x}"

    def deliver(self, sid: str, status: str = "delivered", error_code: str | None = None) -> int:
        """Post a signed status callback for a message, as Twilio does."""
        sent = next(m for m in self.messages if m.sid == sid)
        url = sent.form.get("StatusCallback")
        if not url:
            raise AssertionError("that message asked for no status callback")
        form = {
            "AccountSid": self.account_sid,
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": sent.to,
            "From": sent.form.get("From", ""),
            "ApiVersion": "2010-04-01",
        }
        if error_code:
            form["ErrorCode"] = error_code
        signature = RequestValidator(self.auth_token).compute_signature(url, form)
        response = httpx.post(url, data=form, headers={"X-Twilio-Signature": signature})
        return response.status_code


def message_resource(fake: FakeTwilio, sid: str, form: dict[str, str]) -> dict[str, Any]:
    now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    status = "accepted" if form.get("MessagingServiceSid") and not form.get("From") else "queued"
    return {
        "account_sid": fake.account_sid,
        "api_version": "2010-04-01",
        "body": form.get("Body", ""),
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From"),
        "messaging_service_sid": form.get("MessagingServiceSid"),
        "num_media": "0",
        "num_segments": "1",
        "price": None,
        "price_unit": "GBP",
        "sid": sid,
        "status": status,
        "subresource_uris": {
            "media": f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}/Media.json"
        },
        "to": form.get("To"),
        "uri": f"/2010-04-01/Accounts/{fake.account_sid}/Messages/{sid}.json",
    }


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode()
            fake.requests.append(("POST", self.path))
            match = _MESSAGES.match(self.path.split("?", 1)[0])
            if match is None:
                self._send(404, {"code": 20404, "message": "not found", "status": 404})
                return
            user = None
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
                if user != fake.account_sid or password != fake.auth_token:
                    self._send(401, {"code": 20003, "message": "Authenticate", "status": 401})
                    return
            else:
                self._send(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return
            form = dict(parse_qsl(raw, keep_blank_values=True))
            failure = fake._next_failure()
            if failure is not None:
                status, code = failure
                if code in (21610, 21211):
                    status = 400
                error_code, message = ERRORS.get(code, (code, "Error"))
                self._send(
                    status,
                    {
                        "code": error_code,
                        "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{error_code}",
                        "status": status,
                    },
                )
                return
            if not form.get("To") or not (form.get("From") or form.get("MessagingServiceSid")):
                self._send(400, {"code": 21604, "message": "A 'To' and 'From' are required",
                                 "status": 400})  # fmt: skip
                return
            sid = fake.new_sid()
            fake.record(SentMessage(sid, match["sid"], form, user, datetime.now(UTC)))
            self._send(201, message_resource(fake, sid, form))

        def do_GET(self) -> None:
            fake.requests.append(("GET", self.path))
            account = _ACCOUNT.match(self.path.split("?", 1)[0])
            if account is None:
                self._send(404, {"code": 20404, "message": "not found", "status": 404})
                return
            auth = self.headers.get("Authorization", "")
            user, _, password = base64.b64decode(auth[6:] or "Og==").decode().partition(":")
            if user != fake.account_sid or password != fake.auth_token:
                self._send(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return
            # The account resource (`doorstep doctor` reads it to check the credentials).
            self._send(
                200,
                {"sid": fake.account_sid, "friendly_name": "Fake account", "status": "active"},
            )

    return Handler


@contextmanager
def running_fake_twilio(
    account_sid: str = "AC" + "0" * 31 + "1", auth_token: str = "test-auth-token"
) -> Iterator[FakeTwilio]:
    """Start the fake on a free loopback port; yields it with `url` set."""
    fake = FakeTwilio(account_sid, auth_token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-twilio", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def signed_form(auth_token: str, url: str, form: dict[str, str]) -> tuple[str, dict[str, str]]:
    """(urlencoded body, headers) for a webhook Twilio would send to `url`."""
    signature = RequestValidator(auth_token).compute_signature(url, form)
    return urlencode(form), {
        "X-Twilio-Signature": signature,
        "Content-Type": "application/x-www-form-urlencoded",
    }


# ---- building an App with the SMS channel wired to the fake --------------------------------

ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "test-auth-token"
API_TOKEN = "test-api-token"
OUR_NUMBER = "+447700900000"


def sms_settings(fake_url: str | None = None, **overrides: Any) -> Any:
    """Settings with the SMS channel on; the real SDK talks to `fake_url` when given."""
    from bot.settings import Settings, Team

    sms: dict[str, Any] = {
        "enabled": fake_url is not None,
        "from_number": OUR_NUMBER,
        "api_base_url": fake_url,
        **overrides.pop("sms", {}),
    }
    values: dict[str, Any] = {
        "public_url": "https://doorstep.example.org",
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": AUTH_TOKEN,
        "api_token": API_TOKEN,
        "teams": [
            Team(id="customer-services", name="Customer Services team"),
            Team(id="repairs", name="Repairs team"),
        ],
        "routing": {"repair": "repairs"},
        "sms": sms,
        **overrides,
    }
    return Settings(**values)


def inbound_form(body: str, *, sid: str, sender: str = "+447700900123") -> dict[str, str]:
    """The form Twilio posts for an incoming text."""
    return {
        "ToCountry": "GB",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": OUR_NUMBER,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }
