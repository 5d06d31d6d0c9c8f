"""Web chat benchmark (issue 6): 200 concurrent chat sessions over real WebSockets against a
real uvicorn server (its own process, workers running, SQLite in a temporary folder), each
sending messages with a short pause between them, as residents do.

Measured per message: from the browser's send to the assistant's reply arriving on the
socket, through everything in between (store first, the inbound processor, classification,
the interaction and its clocks, the built-in assistant, the outbox, the web chat sender, the
history and the push). Target: p95 under 200 ms with the embedded classifier.

    .venv/bin/python -m bench webchat
    .venv/bin/python -m bench.bench_webchat [SESSIONS] [MESSAGES]

The classifier is the real spaCy one (`bot.nlu.loader.load_or_train`) when that module
exists; otherwise a keyword classifier stands in and the table says so.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.table import print_table

SESSIONS = 200
MESSAGES = 5  # per session: the first opens the enquiry, the rest are follow-ups
# Seconds between one resident's messages (reading the reply, typing the next): a person
# typing a sentence. `PAUSE_BUSY` is a stress pace far beyond it, to show where it saturates.
PAUSE = (5.0, 15.0)
PAUSE_BUSY = (1.0, 3.0)
TEXTS = (
    "My boiler is broken and there is no hot water",
    "There is a leak under the kitchen sink",
    "My neighbour plays loud music every night",
    "When are you open?",
    "It is still not fixed",
    "Thank you",
)


def _classifier_name() -> str:
    try:
        import bot.nlu.loader  # noqa: F401
    except ModuleNotFoundError:
        return "keyword stand-in (bot.nlu.loader is not there yet)"
    return "spaCy (bot.nlu.loader.load_or_train)"


def _serve(port: int, database_url: str, ready: Any) -> None:
    """The server process: the same wiring as `doorstep serve`."""
    import logging

    import uvicorn

    from bot.bootstrap import bootstrap
    from bot.settings import Settings, Team, Webchat, WebLimits
    from bot.web.app import create_app

    logging.basicConfig(level=logging.WARNING)
    settings = Settings(
        database_url=database_url,
        teams=[Team(id="repairs", name="Repairs team")],
        routing={"repair": "repairs"},
        webchat=Webchat(messages_per_minute=60),
        # Every simulated resident connects from 127.0.0.1: lift the per-address limits
        # (docs/deployment.md) that would otherwise refuse all but the first few.
        web=WebLimits(
            chat_sessions_per_address_per_hour=1_000_000,
            chat_messages_per_address_per_minute=1_000_000,
        ),
    )
    classifier = None
    try:
        from bot.nlu.loader import load_or_train

        classifier = load_or_train(settings.nlu.model_dir, settings.nlu.data_dir)
    except ModuleNotFoundError:
        from tests.fakes import KeywordClassifier

        classifier = KeywordClassifier()
    app = bootstrap(settings, classifier=classifier)
    ready.set()
    uvicorn.run(create_app(app), host="127.0.0.1", port=port, log_level="warning")


async def _session(
    url: str,
    messages: int,
    pause: tuple[float, float],
    latencies: list[float],
    errors: list[str],
) -> None:
    from websockets.asyncio.client import connect

    rng = random.Random()
    async with connect(url, max_size=2**20) as ws:
        await ws.send(json.dumps({"type": "hello", "token": None, "after": 0}))
        while json.loads(await ws.recv())["type"] != "ready":
            pass
        await asyncio.sleep(rng.uniform(0, pause[1]))  # residents do not all type at once
        for n in range(messages):
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "id": f"m{n}", "text": rng.choice(TEXTS)}))
            while True:
                frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=30))
                if frame["type"] == "error":
                    errors.append(frame["code"])
                    break
                if frame["type"] == "message" and frame["role"] == "assistant":
                    latencies.append(time.perf_counter() - started)
                    break
            await asyncio.sleep(rng.uniform(*pause))


async def _load(
    url: str, sessions: int, messages: int, pause: tuple[float, float]
) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    started = time.perf_counter()
    results = await asyncio.gather(
        *(_session(url, messages, pause, latencies, errors) for _ in range(sessions)),
        return_exceptions=True,
    )
    errors += [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    return latencies, errors, time.perf_counter() - started


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def run(
    sessions: int = SESSIONS, messages: int = MESSAGES, pause: tuple[float, float] = PAUSE
) -> dict[str, Any]:
    from tests.support.net import free_port, wait_for_port

    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        ctx = multiprocessing.get_context("fork")
        ready = ctx.Event()
        server = ctx.Process(
            target=_serve, args=(port, f"sqlite:///{Path(tmp) / 'bench.db'}", ready), daemon=True
        )
        server.start()
        try:
            if not ready.wait(120) or not wait_for_port("127.0.0.1", port, timeout=60):
                raise RuntimeError("the server did not start")
            latencies, errors, elapsed = asyncio.run(
                _load(f"ws://127.0.0.1:{port}/ws/chat", sessions, messages, pause)
            )
        finally:
            server.terminate()
            server.join(10)
    if not latencies:
        raise RuntimeError(f"no replies; errors: {errors[:5]}")
    return {
        "sessions": sessions,
        "pause": pause,
        "messages": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:3],
        "rate": len(latencies) / elapsed,
        "p50": _pct(latencies, 50) * 1000,
        "p95": _pct(latencies, 95) * 1000,
        "p99": _pct(latencies, 99) * 1000,
        "max": max(latencies) * 1000,
        "mean": statistics.fmean(latencies) * 1000,
    }


def main(argv: list[str] | None = None) -> None:
    args = argv or []
    sessions = int(args[0]) if args else SESSIONS
    messages = int(args[1]) if len(args) > 1 else MESSAGES
    runs = [run(sessions, messages, PAUSE), run(sessions, messages, PAUSE_BUSY)]
    rows: list[list[object]] = []
    for r in runs:
        rows.append(
            [
                f"{r['pause'][0]:g}-{r['pause'][1]:g} s",
                r["sessions"],
                r["messages"],
                r["errors"],
                f"{r['rate']:.1f}",
                f"{r['p50']:.1f}",
                f"{r['p95']:.1f}",
                f"{r['p99']:.1f}",
                f"{r['max']:.1f}",
            ]
        )
    print(f"classifier: {_classifier_name()}; target: p95 < 200 ms\n")
    print_table(
        [
            "pause between messages",
            "sessions",
            "replies",
            "errors",
            "replies/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "max ms",
        ],
        rows,
    )
    for r in runs:
        if r["first_errors"]:
            print(f"\nfirst errors: {r['first_errors']}")


if __name__ == "__main__":
    main(sys.argv[1:])
