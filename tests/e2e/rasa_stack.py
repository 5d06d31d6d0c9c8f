"""The real Rasa stack for end-to-end tests: Rasa's own environment (scripts/rasa-setup),
the Rasa server, the action server (actions/rasa) and Doorstep's web app on free loopback
ports. Skips only when not in CI and Python 3.10 is missing; in CI any failure fails."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
RASA_HOME = Path(
    os.environ.get("DOORSTEP_RASA_HOME")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "doorstep" / "rasa"
)
VENV = RASA_HOME / "venv-3.6.21"
QUIET = {
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "RASA_TELEMETRY_ENABLED": "false",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _python310_missing(output: str) -> bool:
    return "Python 3.10 not found" in output


def rasa_model() -> Path:
    """Run scripts/rasa-setup (idempotent; cached between runs) and return the model."""
    result = subprocess.run(
        [str(REPO / "scripts" / "rasa-setup")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=3000,
    )
    if result.returncode != 0:
        if not os.environ.get("CI") and _python310_missing(result.stderr):
            pytest.skip("Python 3.10 is not installed (uv python install 3.10)")
        pytest.fail(f"scripts/rasa-setup failed:\n{result.stderr[-4000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def wait_for(url: str, seconds: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"{url} did not come up in {seconds:.0f} s")


@dataclass
class RasaStack:
    rasa_url: str
    actions_url: str
    model: Path


@contextmanager
def running_rasa(model: Path, doorstep_url: str, api_token: str, logs: Path) -> Iterator[RasaStack]:
    """Start the action server (talking to `doorstep_url`) and the Rasa server."""
    rasa_port, actions_port = free_port(), free_port()
    actions_url = f"http://127.0.0.1:{actions_port}"
    env = {
        **os.environ,
        **QUIET,
        "PYTHONPATH": str(REPO),
        "SANIC_HOST": "127.0.0.1",
        "DOORSTEP_URL": doorstep_url,
        "DOORSTEP_API_TOKEN": api_token,
        "DOORSTEP_ACTIONS_URL": f"{actions_url}/webhook",
    }
    logs.mkdir(parents=True, exist_ok=True)
    procs: list[subprocess.Popen[bytes]] = []
    with open(logs / "actions.log", "wb") as actions_log, open(logs / "rasa.log", "wb") as rasa_log:
        try:
            procs.append(
                subprocess.Popen(
                    [
                        str(VENV / "bin" / "rasa"),
                        "run",
                        "actions",
                        "--actions",
                        "actions.rasa",
                        "--port",
                        str(actions_port),
                    ],
                    cwd=REPO,
                    env=env,
                    stdout=actions_log,
                    stderr=subprocess.STDOUT,
                )
            )
            procs.append(
                subprocess.Popen(
                    [
                        str(VENV / "bin" / "rasa"),
                        "run",
                        "--enable-api",
                        "--model",
                        str(model),
                        "--endpoints",
                        "bot/rasa/endpoints.yml",
                        "--credentials",
                        "bot/rasa/credentials.yml",
                        "--interface",
                        "127.0.0.1",
                        "--port",
                        str(rasa_port),
                    ],
                    cwd=REPO,
                    env=env,
                    stdout=rasa_log,
                    stderr=subprocess.STDOUT,
                )
            )
            wait_for(f"{actions_url}/health", 120, procs[0])
            wait_for(f"http://127.0.0.1:{rasa_port}/status", 240, procs[1])
            yield RasaStack(f"http://127.0.0.1:{rasa_port}", actions_url, model)
        except (RuntimeError, TimeoutError) as exc:
            tail = (logs / "rasa.log").read_text(errors="replace")[-3000:]
            tail += (logs / "actions.log").read_text(errors="replace")[-3000:]
            pytest.fail(f"Rasa stack did not start: {exc}\n{tail}")
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


class ServerThread:
    """uvicorn serving a FastAPI app on a free loopback port, in a thread of this process."""

    def __init__(self, api: object) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(api, host="127.0.0.1", port=self.port, log_level="warning")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="doorstep", daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        wait_for(f"{self.url}/healthz", 30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
