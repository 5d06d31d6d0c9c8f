"""The sending process beside `doorstep serve` (bot/sending.py), with a stand-in child: a
byte on its stdin per wake-up, end of file when serve stops, started again when it dies."""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

from bot.sending import SendingProcess

# Counts the wake-ups it reads, and writes the count when its stdin closes.
CHILD = """
import sys, pathlib
got = 0
while chunk := sys.stdin.buffer.read1(1024):
    got += len(chunk)
pathlib.Path(sys.argv[1]).write_text(str(got))
"""


async def _until(check: object, timeout: float = 20.0) -> None:
    async def wait() -> None:
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), timeout)


async def test_wakes_reach_the_child_and_end_of_file_stops_it(tmp_path: Path) -> None:
    out = tmp_path / "count"
    process = SendingProcess([sys.executable, "-c", CHILD, str(out)])
    running = asyncio.create_task(process.run())
    await _until(lambda: process.pid is not None)
    # From another thread, as the pipeline does.
    waker = threading.Thread(target=lambda: [process.wake() for _ in range(3)])
    waker.start()
    waker.join()
    await asyncio.sleep(0.2)
    process.stop()
    await asyncio.wait_for(running, 20)
    # At least the wake-up at start; several at once may be folded into one.
    assert int(out.read_text()) >= 1
    assert process.restarts == 0 and process.pid is None


async def test_a_child_that_dies_is_started_again(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    # Exits at once: appends one mark per start.
    child = "import sys; open(sys.argv[1], 'a').write('x')"
    process = SendingProcess([sys.executable, "-c", child, str(starts)])
    running = asyncio.create_task(process.run())
    await _until(lambda: starts.exists() and len(starts.read_text()) >= 2)
    process.stop()
    await asyncio.wait_for(running, 20)
    assert process.restarts >= 1
