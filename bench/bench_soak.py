"""Soak: a long run through one `doorstep serve` (SQLite, the embedded classifier, Dovecot
in, the benchmark's SMTP server out, web chats over real WebSockets), in rounds. Does memory
creep, does latency drift?

Targets (issue 14): 10,000 mails and 2,000 chats; memory at the end within 10 % of what it
was after warm-up; p95 latency of the last round no worse than the first round's (APPEND ->
acknowledgement accepted; chat message -> reply pushed on the socket). Every mail
acknowledged exactly once.

Memory is the proportional set size (Pss, /proc/PID/smaps_rollup) of serve, its sending
process and its reading worker, added up: the worker is forked from serve and shares most
of its pages, which VmRSS would count twice. VmRSS is shown beside it.

    .venv/bin/python -m bench soak [MAILS]      (chats: a fifth of the mails)

With `SOAK_TRACEMALLOC=DIR`, serve runs with tracemalloc (bench/soak_serve.py; slower) and
the soak prints the allocations that grew most between after warm-up and the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import yaml

from bench.bench_email import PASSWORD, USER, Arrivals, _mail, _percentile
from bench.table import print_table
from tests.support.dovecot import DovecotServer, dovecot_available
from tests.support.net import free_port
from tests.support.procs import children

REPO = Path(__file__).resolve().parents[1]
ROUNDS = 10
WARM_UP_MAILS = 500
WARM_UP_CHATS = 100


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _pss_mb(pid: int) -> float:
    """Proportional set size: each shared page counted once across the processes."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _snapshot(process: subprocess.Popen[bytes], folder: Path | None, n: int) -> None:
    """Ask serve (under bench/soak_serve.py) for tracemalloc snapshot `n`, and wait for it."""
    if folder is None:
        return
    process.send_signal(signal.SIGUSR1)
    done = folder / f"snapshot-{n}.done"
    deadline = time.monotonic() + 300
    while not done.exists() and time.monotonic() < deadline:
        time.sleep(0.2)


def _print_growth(folder: Path, last: int) -> None:
    import tracemalloc

    first = tracemalloc.Snapshot.load(str(folder / "snapshot-1.pickle"))
    end = tracemalloc.Snapshot.load(str(folder / f"snapshot-{last}.pickle"))
    print("\nPython allocations that grew most, after warm-up -> end (tracemalloc):")
    for stat in end.compare_to(first, "traceback")[:15]:
        print(f"{stat.size_diff / 1024:+10.0f} KiB {stat.count_diff:+8d} blocks")
        for line in stat.traceback.format()[-6:]:
            print("    " + line)
    total = sum(s.size for s in end.statistics("filename"))
    before = sum(s.size for s in first.statistics("filename"))
    print(f"traced in all: {before / 2**20:.1f} -> {total / 2**20:.1f} MiB")


def _chat(port: int, n: int) -> float:
    """One resident's chat: open, say one thing, wait for the reply; seconds to the reply."""
    from websockets.sync.client import connect

    with connect(f"ws://127.0.0.1:{port}/ws/chat", open_timeout=30) as ws:
        ws.send(json.dumps({"type": "hello", "token": None, "after": 0}))
        while json.loads(ws.recv(timeout=30))["type"] != "ready":
            pass
        sent = time.monotonic()
        ws.send(json.dumps({"type": "message", "id": f"m{n}", "text": "My sink is blocked"}))
        while True:
            frame = json.loads(ws.recv(timeout=60))
            if frame.get("type") == "message" and frame.get("role") != "resident":
                return time.monotonic() - sent


def main() -> None:
    if not dovecot_available():
        print("Dovecot is not installed (scripts/test installs dovecot-imapd); skipped")
        return
    mails = next((int(a) for a in sys.argv[1:] if a.isdigit()), 10_000)
    chats = mails // 5
    per_round_mails = max((mails - WARM_UP_MAILS) // ROUNDS, 1)
    per_round_chats = max((chats - WARM_UP_CHATS) // ROUNDS, 1)
    with tempfile.TemporaryDirectory() as tmp, DovecotServer() as dovecot:
        dovecot.add_user(USER, PASSWORD)
        arrivals = Arrivals()
        port = free_port("127.0.0.1")
        config = Path(tmp) / "config.yml"
        mailbox = {
            "name": "housing",
            "host": dovecot.host,
            "port": dovecot.port,
            "security": "none",
            "username": USER,
            "password": PASSWORD,
        }
        smtp = {"host": arrivals.host, "port": arrivals.port, "security": "none"}
        config.write_text(
            yaml.safe_dump(
                {
                    "doorstep": {
                        "database_url": f"sqlite:///{tmp}/doorstep.db",
                        "nlu": {"model_dir": str(REPO / "var/models/nlu")},
                        "email": {"from_address": USER, "mailboxes": [mailbox], "smtp": smtp},
                        "outbox": {"poll_seconds": 0.2},
                        "webchat": {"messages_per_minute": 1000},
                        # Every chat comes from this one address: lift the per-address
                        # limits, which would refuse the 21st chat of the hour.
                        "web": {
                            "chat_sessions_per_address_per_hour": 1_000_000,
                            "chat_messages_per_address_per_minute": 1_000_000,
                        },
                    }
                }
            ),
            encoding="utf-8",
        )
        trace = Path(os.environ["SOAK_TRACEMALLOC"]) if os.environ.get("SOAK_TRACEMALLOC") else None
        if trace is not None:
            trace.mkdir(parents=True, exist_ok=True)
        entry = ["bench.soak_serve"] if trace is not None else ["bot"]
        process = subprocess.Popen(
            [sys.executable, "-m", *entry, "--config", str(config), "serve", "--port", str(port),
             "--log-level", "warning"],
            cwd=REPO,
        )  # fmt: skip
        sent = 0
        chatted = 0
        rows: list[list[object]] = []
        memory: list[float] = []
        rss: list[float] = []
        mail_p95: list[float] = []
        chat_p95: list[float] = []

        def memory_now() -> tuple[float, float, float]:
            """(serve, its sending process and reading worker) Pss, and all their VmRSS, MB."""
            kids = children(process.pid)
            rss = _rss_mb(process.pid) + sum(_rss_mb(pid) for pid in kids)
            return _pss_mb(process.pid), sum(_pss_mb(pid) for pid in kids), rss

        def one_round(label: str, n_mails: int, n_chats: int) -> None:
            nonlocal sent, chatted
            imap = dovecot.client(USER)
            keys: dict[str, float] = {}
            started = time.monotonic()
            with ThreadPoolExecutor(4) as pool:
                chat_times = pool.map(_chat, [port] * n_chats, range(chatted, chatted + n_chats))
                for n in range(sent, sent + n_mails):
                    keys[f"<bench-{n}@example.net>"] = time.monotonic()
                    imap.append("INBOX", _mail(n))
                    time.sleep(0.005)  # a steady stream, not one burst
                chat_latency = list(chat_times)
            imap.logout()
            sent += n_mails
            chatted += n_chats
            arrivals.wait(sent, 900)
            took = time.monotonic() - started
            latency = [arrivals.at[key] - at for key, at in keys.items()]
            time.sleep(1.0)  # let the round's work settle before measuring memory
            serve_mb, sending_mb, rss_mb = memory_now()
            mem = serve_mb + sending_mb
            memory.append(mem)
            rss.append(rss_mb)
            mail_p95.append(_percentile(latency, 0.95))
            chat_p95.append(_percentile(chat_latency, 0.95))
            rows.append(
                [label, n_mails, n_chats, f"{took:.0f}", f"{mail_p95[-1]:.2f}",
                 f"{chat_p95[-1]:.2f}", f"{mem:.0f} ({serve_mb:.0f} + {sending_mb:.0f})",
                 f"{rss_mb:.0f}"]
            )  # fmt: skip
            print(" | ".join(str(c) for c in rows[-1]), flush=True)

        try:
            with httpx.Client() as client:
                while True:
                    try:
                        if client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if process.poll() is not None:
                        raise RuntimeError("doorstep serve exited")
                    time.sleep(0.1)
            time.sleep(1.0)
            one_round("warm-up", WARM_UP_MAILS, WARM_UP_CHATS)
            _snapshot(process, trace, 1)
            for n in range(ROUNDS):
                one_round(f"round {n + 1}", per_round_mails, per_round_chats)
            _snapshot(process, trace, 2)
            time.sleep(2.0)  # anything sent twice would arrive now
            total, distinct = arrivals.count, len(set(arrivals.answers))
        finally:
            arrivals.stop()
            process.terminate()
            stopped_in: float | None = time.monotonic()
            try:
                process.wait(timeout=60)
                stopped_in = time.monotonic() - (stopped_in or 0.0)
            except subprocess.TimeoutExpired:
                stopped_in = None  # a finding in itself: reported below
                for pid in [process.pid, *children(process.pid)]:
                    os.kill(pid, 9)
                process.wait(timeout=30)
    print()
    print_table(
        [
            "round",
            "mails",
            "chats",
            "took (s)",
            "mail p95 (s)",
            "chat p95 (s)",
            "memory, Pss MB (serve + others)",
            "VmRSS, MB (all)",
        ],
        rows,
    )
    growth = 100 * (memory[-1] - memory[0]) / memory[0]
    print()
    print_table(
        ["measure", "value", "target"],
        [
            ["mails / chats in all", f"{sent} / {chatted}", "10000 / 2000"],
            ["memory after warm-up -> at the end (Pss, MB)",
             f"{memory[0]:.0f} -> {memory[-1]:.0f}", ""],
            ["VmRSS after warm-up -> at the end (MB)", f"{rss[0]:.0f} -> {rss[-1]:.0f}", ""],
            ["memory growth after warm-up (%)", f"{growth:+.1f}", "within 10"],
            ["mail p95, first round -> last round (s)", f"{mail_p95[1]:.2f} -> {mail_p95[-1]:.2f}",
             "unchanged"],
            ["chat p95, first round -> last round (s)", f"{chat_p95[1]:.2f} -> {chat_p95[-1]:.2f}",
             "unchanged"],
            ["acknowledgements sent / distinct mails answered", f"{total} / {distinct}",
             "exactly once"],
            ["serve stopped after SIGTERM in (s)",
             f"{stopped_in:.1f}" if stopped_in is not None else "not within 60 (killed)",
             "a few"],
        ],
    )  # fmt: skip
    if trace is not None:
        _print_growth(trace, 2)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
