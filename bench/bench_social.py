"""Social media benchmarks (issue 17), against a real uvicorn server in its own process:

1. the Meta webhook's throughput and latency with signature checking and storage (verify
   X-Hub-Signature-256 over the raw body, store each message by its id, answer 200).
   Target: at least 300 signed requests a second, p99 under 50 ms, on 2 cores (the server
   and the load generator share them).
2. time from a signed Messenger webhook to the acknowledgement arriving at a local fake of
   Meta's Graph API, through the pipeline, the outbox and Doorstep's real httpx client.

    .venv/bin/python -m bench social            # via the runner
    .venv/bin/python -m bench.bench_social [N]  # N webhook requests per database (3000)
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

from bench.bench_sms import (
    CONCURRENCY,
    TARGET_RATE,
    _databases,
    _drop_schemas,
    _load,
    _paced,
    _row,
)
from bench.table import print_table

REPO = Path(__file__).resolve().parents[1]
PATH = "/webhooks/meta"


def _serve(port: int, database_url: str, fake_url: str, run_workers: bool) -> None:
    """Run Doorstep's web app on `port` (called in the child process)."""
    import uvicorn

    from bot.bootstrap import bootstrap
    from bot.domain.model import Channel
    from bot.nlu.types import Classification
    from bot.settings import Settings
    from bot.web.app import create_app
    from channels.social.adapter import decoder, sender, turn_handler
    from tests.support.fake_social import FakeSocial, social_settings

    class Routine:  # the benchmark measures intake and sending, not the NLU
        def classify(self, text: str) -> Classification:
            return Classification(topic="repair", urgency="routine", intent="report_repair")

        def classify_many(self, texts: list[str]) -> list[Classification]:
            return [self.classify(t) for t in texts]

    fake = FakeSocial(url=fake_url)
    settings = Settings(
        database_url=database_url,
        public_url=f"http://127.0.0.1:{port}",
        social=social_settings(fake),
    )
    social_sender = sender(settings)
    social_decoder = decoder(settings)
    assert social_sender is not None and social_decoder is not None
    handler = turn_handler(settings)
    app = bootstrap(
        settings,
        classifier=Routine(),
        senders=[social_sender],
        decoders={Channel.SOCIAL: social_decoder},
        turn_handlers={Channel.SOCIAL: handler} if handler is not None else {},
    )
    api = create_app(app, run_workers=run_workers)
    uvicorn.run(api, host="127.0.0.1", port=port, log_level="warning", access_log=False)


class Server:
    def __init__(self, database_url: str, fake_url: str, *, run_workers: bool) -> None:
        from tests.support.net import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.bench_social", "--serve", str(self.port),
             database_url, fake_url, "1" if run_workers else "0"],
            cwd=REPO,
            env=env,
        )  # fmt: skip

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


def _requests(n: int, prefix: str) -> list[tuple[str, dict[str, str]]]:
    from tests.support.fake_social import messenger_dm, signed_meta

    out = []
    for i in range(n):
        body, headers = signed_meta(messenger_dm(f"My boiler is broken ({i})", f"m_{prefix}{i}"))
        out.append((body.decode(), headers))
    return out


def _reply_latency(url: str, fake: Any, runs: int = 20) -> list[float]:
    from tests.support.fake_social import messenger_dm, signed_meta

    times = []
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(runs):
            psid = f"lat-{time.monotonic_ns()}"
            body, headers = signed_meta(
                messenger_dm(f"Leak in the bathroom {i}", f"m_{psid}", psid=psid)
            )
            started = time.perf_counter()
            response = client.post(PATH, content=body, headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"webhook answered {response.status_code}: {response.text}")
            fake.wait_for_recipient(psid, timeout=30)
            times.append(time.perf_counter() - started)
    return times


def main(n: int | None = None) -> None:
    from tests.support.fake_social import running_fake_social

    n = n or int(os.environ.get("BENCH_SOCIAL_REQUESTS", "3000"))
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp, running_fake_social() as fake:
        # The latency run gets databases of its own: the throughput run leaves thousands
        # of stored messages behind, which a server with workers would work through first.
        intake, replies = _databases(f"{tmp}/intake"), _databases(f"{tmp}/replies")
        try:
            for name, database_url in intake:
                with Server(database_url, fake.url, run_workers=False) as server:
                    asyncio.run(_load(server.url, _requests(300, "w"), PATH))  # warm up
                    elapsed, lat = asyncio.run(_load(server.url, _requests(n, "f"), PATH))
                    rows.append(
                        _row(f"Meta webhook, {name}, flat out", n, n / elapsed, lat, paced=False)
                    )
                    paced = _requests(n, "p")
                    elapsed, lat = asyncio.run(_paced(server.url, paced, TARGET_RATE, PATH))
                    what = f"Meta webhook, {name}, {TARGET_RATE} req/s offered"
                    rows.append(_row(what, n, n / elapsed, lat, paced=True))
            for name, database_url in replies:
                with Server(database_url, fake.url, run_workers=True) as server:
                    times = _reply_latency(server.url, fake)
                    median, worst = statistics.median(times) * 1000, max(times) * 1000
                    what = f"webhook -> reply at fake Graph API, {name}"
                    rows.append([what, len(times), "-", f"{median:.1f} ms", f"{worst:.1f} ms (max)",
                                 "-"])  # fmt: skip
        finally:
            _drop_schemas(intake + replies)
    print(
        f"cores: {os.cpu_count()}; server: one uvicorn process (HMAC-SHA256 check + store); "
        f"flat out: {CONCURRENCY} keep-alive connections; offered: open loop at "
        f"{TARGET_RATE} req/s, latency from each request's due time\n"
    )
    print_table(["what", "requests", "throughput", "p50", "p99", "target met"], rows)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        _serve(int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5] == "1")
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
