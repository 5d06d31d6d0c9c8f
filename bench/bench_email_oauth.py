"""Mail in to acknowledgement accepted, by way of login: password IMAP, OAuth IMAP (XOAUTH2,
Dovecot checking each token with the fake identity provider, MSAL fetching it) and Microsoft
Graph change notifications (the fake Graph; its "new message" is the APPEND). Each through a
real `doorstep serve` process on SQLite, acknowledgements to the benchmark's SMTP server.

The issue's aim: a Microsoft 365 mailbox answered "in about a second" (peers poll every
1-20 minutes).

    .venv/bin/python -m bench email_oauth [SINGLES]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench.bench_email import USER, Arrivals, _mail, _percentile
from bench.table import print_table
from tests.support.dovecot import DovecotServer, dovecot_available
from tests.support.fake_graph import FakeGraph, running_fake_graph
from tests.support.fake_oauth import FakeOAuth
from tests.support.net import free_port

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "bench"
TENANT = "contoso.onmicrosoft.com"


@contextmanager
def serving(tmp: str, email: dict[str, Any], port: int) -> Iterator[subprocess.Popen[bytes]]:
    config = Path(tmp) / f"config-{port}.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "doorstep": {
                    "database_url": f"sqlite:///{tmp}/doorstep-{port}.db",
                    "public_url": f"http://127.0.0.1:{port}",
                    "nlu": {"model_dir": str(REPO / "var/models/nlu")},
                    "email": email,
                    "outbox": {"poll_seconds": 0.2},
                }
            }
        ),
        encoding="utf-8",
    )
    doorstep = Path(sys.executable).with_name("doorstep")
    process = subprocess.Popen(
        [str(doorstep), "--config", str(config), "serve", "--port", str(port),
         "--log-level", "warning"],
        cwd=REPO,
        env={**os.environ, "DOORSTEP_CONFIG": str(config)},
    )  # fmt: skip
    try:
        with httpx.Client() as client:
            while True:
                try:
                    status = client.get(f"http://127.0.0.1:{port}/api/status").json()
                    boxes = status.get("mailboxes", [])
                    if boxes and all(b["state"] == "connected" for b in boxes):
                        break
                except (httpx.HTTPError, ValueError):
                    pass
                if process.poll() is not None:
                    raise RuntimeError("doorstep serve exited")
                time.sleep(0.1)
        time.sleep(1.0)  # into IDLE / subscribed
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)


def singles(
    arrivals: Arrivals, deliver: Callable[[int], None], first: int, count: int
) -> list[float]:
    found: list[float] = []
    for n in range(first, first + count):
        sent = time.monotonic()
        deliver(n)
        key = f"<bench-{n}@example.net>"
        deadline = time.monotonic() + 30
        while key not in arrivals.at:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no acknowledgement for {key}")
            time.sleep(0.002)
        found.append(arrivals.at[key] - sent)
        time.sleep(0.2)
    return found


def main() -> None:
    if not dovecot_available():
        print("Dovecot is not installed (scripts/test installs dovecot-imapd); skipped")
        return
    count = next((int(a) for a in sys.argv[1:] if a.isdigit()), 20)
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp, FakeOAuth(token_lifetime=3600) as idp:
        idp.add_client("bench-app", "bench-secret", mailbox=USER)
        oauth = {
            "auth": "oauth2",
            "provider": "microsoft",
            "tenant": TENANT,
            "client_id": "bench-app",
            "client_secret": "bench-secret",
            "authority_host": idp.url,
            "oauth_ca_file": idp.ca_file,
        }
        arrivals = Arrivals()
        smtp = {"host": arrivals.host, "port": arrivals.port, "security": "none"}
        results: dict[str, list[float]] = {}
        try:
            n = 0
            for label, extra in (
                ("password IMAP", {"password": PASSWORD}),
                ("OAuth IMAP (XOAUTH2)", oauth),
            ):
                # A Dovecot of its own: a new database would take the last run's mail for
                # this mailbox's past.
                with DovecotServer(
                    oauth_introspection_url=idp.introspection_url, oauth_ca_file=idp.ca_file
                ) as dovecot:
                    dovecot.add_user(USER, PASSWORD)
                    imap = {
                        "name": "housing",
                        "host": dovecot.host,
                        "port": dovecot.port,
                        "security": "none",
                        "username": USER,
                    }
                    email = {"from_address": USER, "mailboxes": [{**imap, **extra}], "smtp": smtp}
                    with serving(tmp, email, free_port()):
                        results[label] = singles(
                            arrivals, lambda i, d=dovecot: d.append(USER, _mail(i)), n, count
                        )
                n += count
            graph: FakeGraph
            with running_fake_graph() as graph:
                email = {
                    "from_address": USER,
                    "mailboxes": [
                        {
                            "name": "housing",
                            "username": USER,
                            "intake": "graph",
                            "graph_url": graph.url,
                            **oauth,
                        }
                    ],
                    "smtp": smtp,
                }
                with serving(tmp, email, free_port()):
                    results["Graph notification"] = singles(
                        arrivals, lambda i: graph.deliver(USER, _mail(i)), n, count
                    )
        finally:
            arrivals.stop()
    for label, values in results.items():
        rows.append([f"{label}: new mail -> ack p50 (s), {count} mails",
                     f"{statistics.median(values):.3f}", ""])  # fmt: skip
        rows.append([f"{label}: new mail -> ack p95 (s), {count} mails",
                     f"{_percentile(values, 0.95):.3f}", "about 1"])  # fmt: skip
    rows.append(["token requests to the identity provider", str(idp.token_requests), ""])
    print_table(["measure", "value", "target"], rows)


if __name__ == "__main__":
    main()
