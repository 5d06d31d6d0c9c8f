"""`doorstep serve` as a real process for the end-to-end limit and fuzz tests: its own
folder and config file, SMS on (secrets for a Twilio that is never called), the log kept in
a file that must hold no traceback when it stops."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.net import free_port

REPO = Path(__file__).resolve().parents[2]
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "e2e-twilio-token"


@dataclass
class Served:
    port: int
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def raw(self, data: bytes, *, wait: float = 5.0) -> bytes:
        """Send bytes on a fresh connection; what came back before it closed or `wait`."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=wait) as sock:
            sock.sendall(data)
            return _read_until_closed(sock, wait)


def _read_until_closed(sock: socket.socket, wait: float) -> bytes:
    sock.settimeout(wait)
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                break
    except TimeoutError:
        pass
    return b"".join(chunks)


@contextmanager
def serve(folder: Path, doorstep: dict[str, Any]) -> Iterator[Served]:
    config = folder / "config.yml"
    config.write_text(yaml.safe_dump({"doorstep": doorstep}), encoding="utf-8")
    port = free_port("127.0.0.1")
    log = folder / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOORSTEP_")}
    env.update(
        PYTHONPATH=str(REPO),
        DOORSTEP_TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        DOORSTEP_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
    )
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "serve", "--port", str(port)],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(port, log, process)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{served.url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "doorstep serve did not start"
            time.sleep(0.2)
        yield served
    finally:
        process.terminate()
        process.wait(timeout=30)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in text, text[-4000:]
