"""Limits before work (issue 14), against a real `doorstep serve` process over real sockets:
a body is refused by its declared or counted size before it is read or its signature
checked; headers must arrive in time; idle connections close; connections are capped; a
WebSocket frame over the limit is refused by the protocol; chats are limited per client
address; a malformed request is a 4xx. And the server's log holds no traceback.

Small limits are configured so each case is quick (docs/deployment.md has the defaults).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.support.served import Served, serve

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]
ACCOUNT_SID = "AC" + "0" * 32


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    doorstep = {
        "database_url": "sqlite:///limits.db",
        "public_url": "http://127.0.0.1",
        "api_token": "limits-appointments-token",  # the repairs system's (scope appointments)
        "sms": {
            "enabled": True,
            "from_number": "+447700900000",
            "api_base_url": "http://127.0.0.1:9",
        },
        "web": {
            "max_body_bytes": 4096,
            "webhook_max_body_bytes": 2048,
            "websocket_max_bytes": 4096,
            "max_connections": 6,
            "keep_alive_seconds": 1,
            "header_timeout_seconds": 1.0,
            "chat_sessions_per_address_per_hour": 2,
        },
    }
    with serve(tmp_path_factory.mktemp("limits"), doorstep) as served:
        yield served


def _post_head(path: str, length: int, extra: str = "") -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
        f"application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n{extra}\r\n"
    ).encode()


def test_declared_oversize_body_is_refused_before_it_is_sent(served: Served) -> None:
    # 100 MB declared, 10 bytes sent: the answer comes at once, nothing is read.
    started = time.monotonic()
    answer = served.raw(
        _post_head("/webhooks/twilio/sms", 100_000_000, "X-Twilio-Signature: abc\r\n")
        + b"From=%2B44"
    )
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # The API answers a stranger 401 before it reads anything (api_auth's gate comes first);
    # with credentials, the declared size is refused as on any other route.
    answer = served.raw(_post_head("/api/appointments", 50_000) + b"{}")
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    bearer = "Authorization: Bearer limits-appointments-token\r\n"
    answer = served.raw(_post_head("/api/appointments", 50_000, bearer) + b"{}")
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 4


def test_unsigned_webhook_is_refused_unread(served: Served) -> None:
    answer = served.raw(_post_head("/webhooks/twilio/sms", 1500) + b"Body=hello")
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]


def test_streamed_body_is_counted_while_it_is_read(served: Served) -> None:
    head = (
        b"POST /webhooks/twilio/sms HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: abc\r\n\r\n"
    )
    chunk = b"x" * 1024
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
    answer = served.raw(head + body)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/api/appointments", "application/json"),
        ("/staff/login", "application/x-www-form-urlencoded"),
    ],
)
def test_any_streamed_post_is_counted_before_it_is_parsed(
    served: Served, path: str, content_type: str
) -> None:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        f"Content-Type: {content_type}\r\nAuthorization: Bearer x\r\n\r\n"
    ).encode()
    chunk = b"a" * 2048
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(4)) + b"0\r\n\r\n"
    answer = served.raw(head + body)
    assert answer.startswith((b"HTTP/1.1 413", b"HTTP/1.1 401", b"HTTP/1.1 403")), answer[:200]
    if path.startswith("/staff"):
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_slow_headers_are_cut_off(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
        started = time.monotonic()
        sock.settimeout(8)
        assert sock.recv(1024) == b""  # closed by the server
        assert time.monotonic() - started < 5


def test_idle_keep_alive_is_closed(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        started = time.monotonic()
        sock.settimeout(8)
        while sock.recv(65536):
            pass
        assert time.monotonic() - started < 5


def test_connections_are_capped(served: Served) -> None:
    idle = [socket.create_connection(("127.0.0.1", served.port)) for _ in range(6)]
    try:
        time.sleep(0.2)
        answer = served.raw(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
    finally:
        for sock in idle:
            sock.close()
    time.sleep(1.5)  # the server notices they are gone
    assert httpx.get(f"{served.url}/healthz").status_code == 200


def test_malformed_request_is_a_4xx(served: Served) -> None:
    assert served.raw(b"NOT HTTP AT ALL\r\n\r\n").startswith(b"HTTP/1.1 400")
    huge_header = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n"
    answer = served.raw(huge_header)
    assert answer == b"" or answer.startswith(b"HTTP/1.1 4"), answer[:200]


def _ws_url(served: Served) -> str:
    return f"ws://127.0.0.1:{served.port}/ws/chat"


def test_websocket_frame_over_the_limit_is_refused_by_the_protocol(served: Served) -> None:
    with connect(_ws_url(served), max_size=None) as ws:
        ws.send(json.dumps({"type": "hello", "token": None, "after": 0}))
        welcome = json.loads(ws.recv(timeout=10))
        assert welcome["type"] == "welcome"
        ws.send("x" * 10_000)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_new_chats_are_limited_per_address(served: Served) -> None:
    # The frame test above started one chat from this address; the budget is two an hour.
    tokens = []
    with connect(_ws_url(served)) as ws:
        ws.send(json.dumps({"type": "hello", "token": None, "after": 0}))
        tokens.append(json.loads(ws.recv(timeout=10))["token"])
    # No proxy is trusted: a forwarded address is not believed, the connection's counts.
    forwarded = {"X-Forwarded-For": "203.0.113.9"}
    with connect(_ws_url(served), additional_headers=forwarded) as ws:
        ws.send(json.dumps({"type": "hello", "token": None, "after": 0}))
        refused = json.loads(ws.recv(timeout=10))
        assert refused["type"] == "error" and refused["code"] == "rate_limited"
    with connect(_ws_url(served)) as ws:  # coming back to a chat is not a new one
        ws.send(json.dumps({"type": "hello", "token": tokens[0], "after": 0}))
        assert json.loads(ws.recv(timeout=10))["type"] == "welcome"


def test_refusals_are_logged(served: Served) -> None:
    text = served.log.read_text(encoding="utf-8", errors="replace")
    assert "refused POST /webhooks/twilio/sms" in text
    assert "refused a new chat" in text
