"""A local fake of Rasa's HTTP server: the REST channel and `/model/parse`.

A real HTTP server on a free loopback port, so Doorstep's real httpx client talks to it over
a socket (style.md: fake a service by a local server, never by patching our functions). It
records every request and answers with whatever the test scripted: replies, an error status,
a slow answer (past the client's timeout), or garbage.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], list[dict[str, Any]]]


def echo_responder(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Answers like a tiny assistant: one text reply that echoes the message."""
    return [{"recipient_id": payload.get("sender"), "text": f"You said: {payload.get('message')}"}]


@dataclass
class FakeRasa:
    """What the fake answers; tests change these fields between turns."""

    responder: Responder = echo_responder
    status: int = 200
    delay_seconds: float = 0.0
    raw_body: bytes | None = None  # answer these bytes instead of JSON (a broken server)
    parse: Callable[[str], dict[str, Any]] | None = None  # /model/parse answer
    requests: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    url: str = ""
    _stop_delay: threading.Event = field(default_factory=threading.Event)

    def webhook_payloads(self) -> list[dict[str, Any]]:
        return [body for path, body in self.requests if path == "/webhooks/rest/webhook"]


def _handler(fake: FakeRasa) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path in ("/", "/version", "/status"):
                self._send(200, json.dumps({"version": "3.6.21-fake"}).encode())
            else:
                self._send(404, b"{}")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                body = {}
            fake.requests.append((self.path, body))
            if fake.delay_seconds:
                fake._stop_delay.wait(fake.delay_seconds)
            if fake.raw_body is not None:
                self._send(fake.status, fake.raw_body)
                return
            if fake.status != 200:
                self._send(fake.status, json.dumps({"error": "scripted failure"}).encode())
                return
            if self.path.startswith("/webhooks/rest/webhook"):
                self._send(200, json.dumps(fake.responder(body)).encode())
            elif self.path.startswith("/model/parse") and fake.parse is not None:
                self._send(200, json.dumps(fake.parse(str(body.get("text", "")))).encode())
            else:
                self._send(404, b"{}")

    return Handler


@contextmanager
def running_fake_rasa(fake: FakeRasa | None = None) -> Iterator[FakeRasa]:
    """Start the fake on 127.0.0.1 (a free port); `fake.url` is its base URL."""
    fake = fake or FakeRasa()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-rasa", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake._stop_delay.set()  # a slow answer in flight must not hold shutdown
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        time.sleep(0)  # let the handler threads notice the closed socket


def closed_port_url() -> str:
    """A loopback URL where nothing listens (Rasa is down)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
