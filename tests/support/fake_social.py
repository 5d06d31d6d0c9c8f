"""Local fakes of the parts of Meta's Graph API and X's API that Doorstep calls, for its
real httpx client to talk to, and of the webhooks those providers send.

Meta (`/v21.0/...`): `POST /{account}/messages` (Send API and private replies),
`POST /{comment}/comments` and `/{comment}/replies` (public replies), `POST /{comment}`
(hide). X: `POST /2/dm_conversations/with/{id}/messages` and `POST /2/tweets`. Every call is
recorded (path, JSON body, bearer token). Failures are scripted with `fail_next(...)`,
answered with each provider's documented error JSON.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from channels.social.signatures import meta_sign, x_sign

VERSION = "v21.0"
PAGE_ID = "1029384756"
INSTAGRAM_ID = "17841400000000001"
PAGE_TOKEN = "EAAB-page-token"
APP_SECRET = "meta-app-secret"
VERIFY_TOKEN = "verify-me"
X_SECRET = "x-consumer-secret"
X_TOKEN = "x-user-token"
X_ACCOUNT = "44196397"

# Meta's documented errors: (HTTP status, code, subcode, message).
META_ERRORS = {
    "token_expired": (400, 190, 463, "Error validating access token: Session has expired"),
    "rate_limited": (400, 613, None, "Calls to this api have exceeded the rate limit."),
    "outside_window": (
        400,
        10,
        2018278,
        "This message is sent outside of allowed window.",
    ),
    "server": (500, 2, None, "An unexpected error has occurred. Please retry your request."),
}


@dataclass
class Call:
    path: str
    body: dict[str, Any]
    token: str | None


@dataclass
class FakeSocial:
    calls: list[Call] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    hidden: set[str] = field(default_factory=set)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def fail_next(self, kind: str, times: int = 1) -> None:
        with self._lock:
            self.failures.extend([kind] * times)

    def _failure(self) -> str | None:
        with self._lock:
            return self.failures.pop(0) if self.failures else None

    def record(self, call: Call) -> int:
        with self._lock:
            self.calls.append(call)
            return next(self._ids)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.calls) >= count:
                    return list(self.calls)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} calls, got {len(self.calls)}: {self.calls}")

    def wait_for_recipient(self, recipient: str, timeout: float = 10.0) -> Call:
        """The first call that sends to `recipient` (a page-scoped or X id)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for call in self.calls:
                    if call.body.get("recipient", {}).get("id") == recipient:
                        return call
            time.sleep(0.005)
        raise AssertionError(f"nothing was sent to {recipient} in {timeout} s")

    @property
    def graph_url(self) -> str:
        return f"{self.url}/{VERSION}"


def _handler(fake: FakeSocial) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
            path = self.path.split("?", 1)[0]
            n = fake.record(Call(path, body, token))
            failure = fake._failure()
            if path.startswith("/2/"):
                self._x(path, body, token, n, failure)
            else:
                self._meta(path, body, token, n, failure)

        def _meta(
            self, path: str, body: dict[str, Any], token: str | None, n: int, failure: str | None
        ) -> None:
            if token != PAGE_TOKEN:
                failure = "token_expired"
            if failure is not None:
                status, code, subcode, message = META_ERRORS[failure]
                error: dict[str, Any] = {
                    "message": message,
                    "type": "OAuthException",
                    "code": code,
                    "fbtrace_id": f"A{n}",
                }
                if subcode is not None:
                    error["error_subcode"] = subcode
                self._send(status, {"error": error})
                return
            parts = path.strip("/").split("/")
            if len(parts) == 3 and parts[2] == "messages":
                recipient = body.get("recipient", {})
                self._send(
                    200,
                    {
                        "recipient_id": recipient.get("id", "psid-from-comment"),
                        "message_id": f"m_{n}",
                    },
                )
            elif len(parts) == 3 and parts[2] in ("comments", "replies"):
                self._send(200, {"id": f"{parts[1]}_{n}"})
            elif len(parts) == 2:
                if body.get("is_hidden") or body.get("hide"):
                    fake.hidden.add(parts[1])
                self._send(200, {"success": True})
            else:
                self._send(404, {"error": {"message": "Unknown path", "code": 803}})

        def _x(
            self, path: str, body: dict[str, Any], token: str | None, n: int, failure: str | None
        ) -> None:
            if token != X_TOKEN:
                self._send(401, {"title": "Unauthorized", "status": 401, "detail": "Unauthorized"})
            elif failure == "rate_limited":
                self._send(
                    429,
                    {"title": "Too Many Requests", "status": 429, "detail": "Too Many Requests"},
                )
            elif path.endswith("/messages"):
                self._send(201, {"data": {"dm_conversation_id": f"c{n}", "dm_event_id": f"dm{n}"}})
            elif path == "/2/tweets":
                self._send(201, {"data": {"id": f"t{n}", "text": body.get("text", "")}})
            else:
                self._send(404, {"title": "Not Found", "status": 404})

    return Handler


@contextmanager
def running_fake_social() -> Iterator[FakeSocial]:
    fake = FakeSocial()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# ---- what the providers post to us ---------------------------------------------------------


def messenger_dm(
    text: str,
    mid: str,
    *,
    psid: str = "psid-1",
    at_ms: int = 1796032500000,
    instagram: bool = False,
) -> dict[str, Any]:
    account = INSTAGRAM_ID if instagram else PAGE_ID
    return {
        "object": "instagram" if instagram else "page",
        "entry": [
            {
                "id": account,
                "time": at_ms,
                "messaging": [
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": account},
                        "timestamp": at_ms,
                        "message": {"mid": mid, "text": text},
                    }
                ],
            }
        ],
    }


def page_comment(
    text: str,
    comment_id: str,
    *,
    user: str = "user-7",
    name: str = "Jo Bloggs",
    post_id: str = f"{PAGE_ID}_555",
) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [
            {
                "id": PAGE_ID,
                "time": 1796032500,
                "changes": [
                    {
                        "field": "feed",
                        "value": {
                            "from": {"id": user, "name": name},
                            "item": "comment",
                            "verb": "add",
                            "comment_id": comment_id,
                            "post_id": post_id,
                            "parent_id": post_id,
                            "message": text,
                            "created_time": 1796032500,
                        },
                    }
                ],
            }
        ],
    }


def instagram_comment(text: str, comment_id: str, *, user: str = "ig-user-3") -> dict[str, Any]:
    return {
        "object": "instagram",
        "entry": [
            {
                "id": INSTAGRAM_ID,
                "time": 1796032500,
                "changes": [
                    {
                        "field": "comments",
                        "value": {
                            "from": {"id": user, "username": "jo.resident"},
                            "media": {"id": "1796", "media_product_type": "FEED"},
                            "id": comment_id,
                            "text": text,
                        },
                    }
                ],
            }
        ],
    }


def x_dm(text: str, event_id: str, *, sender: str = "9001") -> dict[str, Any]:
    return {
        "for_user_id": X_ACCOUNT,
        "direct_message_events": [
            {
                "type": "message_create",
                "id": event_id,
                "created_timestamp": "1796032500000",
                "message_create": {
                    "target": {"recipient_id": X_ACCOUNT},
                    "sender_id": sender,
                    "message_data": {"text": text, "entities": {}},
                },
            }
        ],
        "users": {sender: {"id": sender, "name": "Sam Resident", "screen_name": "samr"}},
    }


def x_mention(text: str, tweet_id: str, *, sender: str = "9002") -> dict[str, Any]:
    return {
        "for_user_id": X_ACCOUNT,
        "tweet_create_events": [
            {
                "id_str": tweet_id,
                "text": text,
                "timestamp_ms": "1796032500000",
                "user": {"id_str": sender, "name": "Pat", "screen_name": "pat"},
            }
        ],
    }


def signed_meta(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": meta_sign(APP_SECRET, body),
    }


def signed_x(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, {
        "Content-Type": "application/json",
        "x-twitter-webhooks-signature": x_sign(X_SECRET, body),
    }


def social_settings(fake: FakeSocial | None = None, **overrides: Any) -> dict[str, Any]:
    """The `social:` settings for the fakes."""
    return {
        "meta": {
            "app_secret": APP_SECRET,
            "verify_token": VERIFY_TOKEN,
            "page_access_token": PAGE_TOKEN,
            "page_id": PAGE_ID,
            "instagram_id": INSTAGRAM_ID,
            "graph_url": fake.graph_url if fake else "http://127.0.0.1:9/v21.0",
        },
        "x": {
            "enabled": True,
            "consumer_secret": X_SECRET,
            "bearer_token": X_TOKEN,
            "account_id": X_ACCOUNT,
            "api_url": fake.url if fake else "http://127.0.0.1:9",
        },
        **overrides,
    }
