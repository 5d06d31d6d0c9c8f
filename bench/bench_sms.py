"""SMS benchmarks (issue 5), against a real uvicorn server in its own process:

1. inbound webhook throughput and latency with signature checking and storage (the intake
   path Twilio hits: verify X-Twilio-Signature on the public URL, store the raw form, answer
   with empty TwiML). Target: at least 300 requests a second, p99 under 50 ms, on 2 cores
   (the server and the load generator share them).
2. time from scheduling an appointment (POST /api/appointments) to its text arriving at a
   local fake of Twilio's REST API, through the outbox and the real Twilio SDK.

    .venv/bin/python -m bench sms            # via the runner
    .venv/bin/python -m bench.bench_sms [N]  # N webhook requests per database (default 3000)

BENCH_SWITCH=0.0005 sets the server process's GIL switch interval (default 5 ms): the
webhook hands each store to a thread, and with the default interval the event loop can
wait up to 5 ms for the GIL at every hand-off, which shows in the tail latency.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.table import print_table

CONCURRENCY = 16  # connections in the flat-out run
TARGET_RATE = 300  # requests a second the issue asks for, with p99 under 50 ms
REPO = Path(__file__).resolve().parents[1]


# ---- the server process ------------------------------------------------------------------


def _serve(port: int, database_url: str, fake_url: str, run_workers: bool) -> None:
    """Run Doorstep's web app on `port` (called in the child process)."""
    import uvicorn

    from bot.bootstrap import bootstrap
    from bot.domain.model import Channel
    from bot.nlu.types import Classification
    from bot.web.app import create_app
    from channels.sms.adapter import decoder, turn_handler
    from tests.support.fake_twilio import sms_settings

    class Routine:  # the benchmark measures intake and sending, not the NLU
        def classify(self, text: str) -> Classification:
            return Classification(topic="repair", urgency="routine", intent="report_repair")

        def classify_many(self, texts: list[str]) -> list[Classification]:
            return [self.classify(t) for t in texts]

    settings = sms_settings(
        fake_url,
        database_url=database_url,
        public_url=f"http://127.0.0.1:{port}",
        sms={"quiet_start": "00:00", "quiet_end": "00:00"},
    )
    # Only the SMS channel: the benchmark must not depend on other channels being built.
    app = bootstrap(
        settings,
        classifier=Routine(),
        decoders={Channel.SMS: decoder(settings)},
        turn_handlers={Channel.SMS: turn_handler(settings)},
    )
    api = create_app(app, run_workers=run_workers)
    if os.environ.get("BENCH_SWITCH"):
        sys.setswitchinterval(float(os.environ["BENCH_SWITCH"]))
    uvicorn.run(api, host="127.0.0.1", port=port, log_level="warning", access_log=False)


class Server:
    def __init__(self, database_url: str, fake_url: str, *, run_workers: bool) -> None:
        from tests.support.net import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.bench_sms",
                "--serve",
                str(self.port),
                database_url,
                fake_url,
                "1" if run_workers else "0",
            ],
            cwd=REPO,
            env=env,
        )

    def __enter__(self) -> Server:
        from tests.support.net import wait_for_port

        if not wait_for_port("127.0.0.1", self.port, timeout=60):
            self.proc.kill()
            raise RuntimeError("the server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ---- the load ----------------------------------------------------------------------------


def _requests(url: str, n: int, prefix: str) -> list[tuple[str, dict[str, str]]]:
    from tests.support.fake_twilio import AUTH_TOKEN, inbound_form, signed_form

    out = []
    for i in range(n):
        form = inbound_form(f"My boiler is broken ({i})", sid=f"SM{prefix}{i:030d}")
        out.append(signed_form(AUTH_TOKEN, f"{url}/webhooks/twilio/sms", form))
    return out


def _prepare(
    url: str, requests: list[tuple[str, dict[str, str]]], path: str = "/webhooks/twilio/sms"
) -> list[bytes]:
    host = url.removeprefix("http://")
    prepared = []
    for content, headers in requests:
        body = content.encode()
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        prepared.append(
            (
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{head}Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
    return prepared


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> None:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)
    if status != 200:
        raise RuntimeError(f"webhook answered {status}")


async def _load(
    url: str, requests: list[tuple[str, dict[str, str]]], path: str = "/webhooks/twilio/sms"
) -> tuple[float, list[float]]:
    """Saturation: post every request over CONCURRENCY keep-alive connections, each sending
    its next request as soon as the last is answered; (elapsed, latencies).

    A deliberately lean HTTP/1.1 client (pre-built request bytes on raw asyncio streams):
    the server and the load generator share the 2 cores, and a full client library spends
    more CPU per request than the server does, which would measure the client instead.
    """
    host, port = url.removeprefix("http://").split(":")
    pending = iter(_prepare(url, requests, path))
    latencies: list[float] = []

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for request in pending:
                started = time.perf_counter()
                await _exchange(reader, writer, request)
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started, latencies


async def _paced(
    url: str,
    requests: list[tuple[str, dict[str, str]]],
    rate: float,
    path: str = "/webhooks/twilio/sms",
) -> tuple[float, list[float]]:
    """Open loop: request i is due at start + i/rate, whatever happened to the others, and
    its latency counts from when it was due (so a stalled server cannot hide its queue)."""
    host, port = url.removeprefix("http://").split(":")
    prepared = _prepare(url, requests, path)
    connections: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(64):
        connections.put_nowait(await asyncio.open_connection(host, int(port)))
    latencies: list[float] = []
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.05

    async def one(index: int, request: bytes) -> None:
        due = start + index / rate
        await asyncio.sleep(max(0.0, due - loop.time()))
        reader, writer = await connections.get()
        try:
            await _exchange(reader, writer, request)
        finally:
            connections.put_nowait((reader, writer))
        latencies.append(loop.time() - due)

    await asyncio.gather(*(one(i, r) for i, r in enumerate(prepared)))
    elapsed = loop.time() - start
    while not connections.empty():
        connections.get_nowait()[1].close()
    return elapsed, latencies


def _row(what: str, n: int, rate: float, latencies: list[float], *, paced: bool) -> list[object]:
    """Flat out shows the throughput (its latency is mostly queueing behind 16 connections);
    the paced run at the target rate shows the latency."""
    p50, p99 = _percentile(latencies, 50) * 1000, _percentile(latencies, 99) * 1000
    ok = (rate >= TARGET_RATE * 0.98 and p99 < 50) if paced else rate >= TARGET_RATE
    return [what, n, f"{rate:.0f} req/s", f"{p50:.1f} ms", f"{p99:.1f} ms", "yes" if ok else "NO"]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _databases(tmp: str) -> list[tuple[str, str]]:
    found = [("SQLite", f"sqlite:///{tmp}/bench-sms.db")]
    from tests.conftest import PG_URL, _pg_available

    if _pg_available():
        import uuid

        import sqlalchemy as sa

        from bot.storage.db import create_engine

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        found.append(("PostgreSQL", f"{PG_URL}?options=-csearch_path%3D{schema}"))
    return found


def _drop_schemas(databases: list[tuple[str, str]]) -> None:
    import sqlalchemy as sa

    from bot.storage.db import create_engine
    from tests.conftest import PG_URL

    for name, url in databases:
        if name == "PostgreSQL":
            schema = url.rsplit("%3D", 1)[1]
            admin = create_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def _appointment_latency(url: str, fake: Any, runs: int = 20) -> list[float]:
    from tests.support.fake_twilio import API_TOKEN

    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    times = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(runs):
            before = len(fake.messages)
            job = {
                "job_ref": f"B-{i}",
                "phone": "07700 900123",
                "address": "1 Bench Road",
                "date": "2099-01-05",
                "slot": "am",
                "trade": "Plumbing",
            }
            started = time.perf_counter()
            response = client.post("/api/appointments", json=job, headers=auth)
            if response.status_code != 201:
                raise RuntimeError(f"schedule answered {response.status_code}: {response.text}")
            fake.wait_for(before + 1, timeout=30)
            times.append(time.perf_counter() - started)
    return times


def main(n: int | None = None) -> None:
    from tests.support.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, running_fake_twilio

    n = n or int(os.environ.get("BENCH_SMS_REQUESTS", "3000"))
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp, running_fake_twilio(ACCOUNT_SID, AUTH_TOKEN) as fake:
        databases = _databases(tmp)
        try:
            for name, database_url in databases:
                with Server(database_url, fake.url, run_workers=False) as server:
                    asyncio.run(_load(server.url, _requests(server.url, 300, "9")))  # warm up
                    elapsed, lat = asyncio.run(_load(server.url, _requests(server.url, n, "1")))
                    rows.append(
                        _row(f"inbound webhook, {name}, flat out", n, n / elapsed, lat, paced=False)
                    )
                    paced = _requests(server.url, n, "2")
                    elapsed, lat = asyncio.run(_paced(server.url, paced, TARGET_RATE))
                    rows.append(
                        _row(
                            f"inbound webhook, {name}, {TARGET_RATE} req/s offered",
                            n,
                            n / elapsed,
                            lat,
                            paced=True,
                        )
                    )
                with Server(database_url, fake.url, run_workers=True) as server:
                    times = _appointment_latency(server.url, fake)
                    rows.append(
                        [
                            f"schedule -> text at fake Twilio, {name}",
                            len(times),
                            "-",
                            f"{statistics.median(times) * 1000:.1f} ms",
                            f"{max(times) * 1000:.1f} ms (max)",
                            "-",
                        ]
                    )
        finally:
            _drop_schemas(databases)
    print(
        f"cores: {os.cpu_count()}; server: one uvicorn process (signature check + store); "
        f"flat out: {CONCURRENCY} keep-alive connections; offered: open loop at "
        f"{TARGET_RATE} req/s, latency from each request's due time\n"
    )
    print_table(["what", "requests", "throughput", "p50", "p99", "target met"], rows)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        _serve(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] == "1")
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
