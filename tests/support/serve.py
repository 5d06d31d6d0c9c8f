"""`doorstep serve` as a real process for the instance and fault-drill tests: start it on a
config, wait until it is healthy, read /api/status, kill it as a crash would (serve and the
sending process it started, SIGKILL) or stop it as an operator would (SIGTERM)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.net import free_port
from tests.support.procs import children
from tests.support.smtp_sink import SmtpSink

REPO = Path(__file__).resolve().parents[2]


def wait(check: Callable[[], object], timeout: float, what: str, step: float = 0.05) -> float:
    """Until `check()` is true; returns the seconds it took."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise TimeoutError(what)
        time.sleep(step)
    return time.monotonic() - started


def write_config(tmp_path: Path, doorstep: dict[str, object], name: str = "config.yml") -> Path:
    config = tmp_path / name
    config.write_text(yaml.safe_dump({"doorstep": doorstep}), encoding="utf-8")
    return config


def mail(n: int, to: str, tag: str = "drill") -> bytes:
    return (
        f"From: Resident {n} <resident{n}@example.net>\r\nTo: {to}\r\n"
        f"Subject: Repair at flat {n}\r\nMessage-ID: <{tag}-{n}@example.net>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"The bathroom light at flat {n} does not work.\r\n"
    ).encode()


def acknowledgements(sink: SmtpSink) -> dict[str, set[str]]:
    """Enquiry (its Message-ID) -> the distinct Message-IDs of what answered it. A resend of
    the same outbox row carries the same Message-ID: one message to the receiving server."""
    found: dict[str, set[str]] = defaultdict(set)
    for m in list(sink.messages):
        found[str(m.message["In-Reply-To"])].add(str(m.message["Message-ID"]))
    return found


def copies(sink: SmtpSink) -> Counter[str]:
    return Counter(str(m.message["Message-ID"]) for m in list(sink.messages))


class Serve:
    def __init__(self, config: Path, name: str = "serve") -> None:
        self.config = config
        self.name = name
        self.port = free_port("127.0.0.1")
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self._token: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Serve:
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot",
                "--config",
                str(self.config),
                "serve",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=REPO,
            start_new_session=True,  # killed as a group, like a crashed host's service
        )
        return self

    def healthy(self) -> bool:
        assert self.process is not None and self.process.poll() is None, f"{self.name} exited"
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_healthy(self, timeout: float = 120) -> Serve:
        wait(self.healthy, timeout, f"{self.name} did not start", step=0.1)
        self.token()
        return self

    def token(self) -> str:
        """A read-only token made as an operator would, once (at start, before a drill can
        fill the disk or cut the database)."""
        if self._token is None:
            made = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bot",
                    "--config",
                    str(self.config),
                    "token",
                    "add",
                    f"monitor-{uuid.uuid4().hex[:8]}",
                    "--scope",
                    "read",
                ],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=120,
                check=True,
            )
            self._token = next(w for w in made.stdout.split() if w.startswith("ds_"))
        return self._token

    def status(self) -> dict[str, Any]:
        """/api/status, read with a read-only token (the API needs credentials)."""
        response = httpx.get(
            f"{self.url}/api/status",
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=5,
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def holds(self) -> set[str]:
        try:
            return set(self.status()["instance"]["holds"])
        except (httpx.HTTPError, KeyError):
            return set()

    def kill9(self) -> None:
        """A crash: serve and its sending process die at once, with no chance to tidy up."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        kids = children(process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        for pid in kids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.kill9()
